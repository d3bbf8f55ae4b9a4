// Downloads a URL source to a file, as a guest on the platform's network: http(s) only, to public addresses
// only (SOURCE_URL_ALLOW lets an operator open a host or network), connecting to the very address that was
// checked (no second DNS answer), following at most MAX_REDIRECTS redirects (each checked again), with
// connect/idle timeouts and a byte cap enforced while streaming. Request headers come from references
// resolved here; they are never sent to another origin than the spec's URL.
import { createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { lookup } from 'node:dns/promises';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { allowedBy, nonPublicReason, parseAllowRule, parseIp, type AllowRule } from '../runtime/addresses.js';
import { redactUrl } from '../runtime/logger.js';
import type { PipelineSpec } from '../pipelines/spec.js';
import { PipelineInputError } from './pipeline-error.js';
import { openAllowedFile } from './source-files.js';

export const MAX_REDIRECTS = 3;
const MAX_HEADER_FILE_BYTES = 64 * 1024;

type FileSource = Extract<PipelineSpec['source'], { kind: 'file' }>;
export type HeaderRefs = NonNullable<FileSource['headers']>;

export interface UrlSourceAccess {
  /** SOURCE_URL_ALLOW: hosts, host:port, IPs or networks that may be reached although not public. */
  allow: string[];
  /** SOURCE_URL_TIMEOUT_MS: to connect, and of silence while answering. */
  timeoutMs: number;
  /** SOURCE_URL_MAX_BYTES */
  maxBytes: number;
  /** What header references may read: SOURCE_SECRET_* variables, files under SOURCE_HEADER_FILE_ROOTS. */
  secrets: Record<string, string>;
  headerFileRoots: string[];
  /**
   * SOURCE_HEADER_ORIGINS: the origins a spec's header references may be sent to. The spec's author chooses
   * the URL, so without this list any author could send any secret to a server of their own.
   */
  headerOrigins: string[];
  /** Never read by a header file reference either. */
  artifactDir: string;
  dataDir: string;
}

const invalid = (message: string, details: Record<string, unknown> = {}) => new PipelineInputError('InvalidSource', message, details);

/** The URL as shown in messages and logs: no user or password (redactUrl would keep the user: it may be a token). */
export function shownUrl(url: string | URL): string {
  try {
    const u = new URL(url.toString());
    u.username = '';
    u.password = '';
    return u.toString();
  } catch {
    return redactUrl(url.toString());
  }
}

/** Checks a URL's form: http(s), no credentials in it. */
function checkForm(url: URL, shown: string) {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw invalid(`URL sources are http(s) only; ${shown} is ${url.protocol.replace(/:$/, '')}`);
  if (url.username || url.password) throw invalid(`the URL ${shown} carries credentials; send them as a header reference in source.headers instead`);
}

const defaultPort = (url: URL) => (url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80);

/**
 * The address to connect to for `url`: every address its host resolves to must be public, or allowed by a
 * rule; a refusal names the host, the address and why.
 */
type Target = { address: string; family: 4 | 6 };

async function vetAddress(url: URL, rules: AllowRule[], shown: string): Promise<Target[]> {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const port = defaultPort(url);
  let addresses: { address: string; family: number }[];
  if (parseIp(host)) {
    addresses = [{ address: host, family: host.includes(':') ? 6 : 4 }];
  } else {
    try {
      addresses = await lookup(host, { all: true, verbatim: true });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOTFOUND' || code === 'ENODATA') throw invalid(`the host of ${shown} does not resolve (${code})`, { host });
      throw new Error(`resolving the host of ${shown} failed (${code ?? 'error'})`);
    }
    if (addresses.length === 0) throw invalid(`the host of ${shown} does not resolve`, { host });
  }
  for (const a of addresses) {
    const reason = nonPublicReason(a.address);
    if (reason && !allowedBy(rules, { host, port, address: a.address })) {
      const via = parseIp(host) ? '' : ` (${host} resolves to it)`;
      throw invalid(
        `the URL ${shown} points at ${a.address}${via}: ${reason}, not a public address; URL sources may reach only public addresses ` +
          '(an operator can allow a host or network with SOURCE_URL_ALLOW on the worker)',
        { host, address: a.address, reason },
      );
    }
  }
  return addresses.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));
}

/** A lookup that answers the vetted addresses, whatever the name: the connection goes where the check looked. */
function pinned(targets: Target[]): LookupFunction {
  return ((_host: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
    if (options?.all) callback(null, targets);
    else callback(null, targets[0].address, targets[0].family);
  }) as unknown as LookupFunction;
}

/** Header values from their references; a problem names the header and its reference, never a value. */
export async function resolveHeaders(refs: HeaderRefs | undefined, access: UrlSourceAccess): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const [name, ref] of Object.entries(refs ?? {})) {
    let value: string;
    if (ref.env !== undefined) {
      const v = access.secrets[ref.env];
      if (v === undefined) throw invalid(`header ${name} references ${ref.env}, which is not set on the worker`, { header: name });
      value = v;
    } else {
      const file = await openAllowedFile(ref.file!, {
        roots: access.headerFileRoots, artifactDir: access.artifactDir, dataDir: access.dataDir, what: `header ${name}'s file`, setting: 'SOURCE_HEADER_FILE_ROOTS',
      }, 'secret');
      try {
        const { size } = await file.handle.stat();
        if (size > MAX_HEADER_FILE_BYTES) throw invalid(`header ${name}'s file ${ref.file} is larger than ${MAX_HEADER_FILE_BYTES} bytes`, { header: name });
        value = (await readFile(file.path, 'utf8')).trim();
      } finally {
        await file.close();
      }
    }
    if (!value || /[\r\n\0]/.test(value)) throw invalid(`header ${name}'s value (from its reference) is empty or spans several lines`, { header: name });
    out[name] = value;
  }
  return out;
}

/** Counts bytes as they stream by and stops the download past the cap. */
function byteCap(maxBytes: number, shown: string): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      seen += chunk.length;
      if (seen > maxBytes) done(tooLarge(shown, maxBytes));
      else done(null, chunk);
    },
  });
}

const tooLarge = (shown: string, maxBytes: number) =>
  invalid(`the answer of ${shown} is larger than ${maxBytes} bytes (SOURCE_URL_MAX_BYTES); the download was stopped`, { maxBytes });

/** One GET; `timedOut` tells whether a failure (now or while the body streams) was SOURCE_URL_TIMEOUT_MS. */
function get(url: URL, targets: Target[], headers: Record<string, string>, timeoutMs: number, shown: string) {
  const client = url.protocol === 'https:' ? https : http;
  const state = { timedOut: false };
  const timeout = () => new Error(`GET ${shown} timed out: nothing for ${timeoutMs} ms (SOURCE_URL_TIMEOUT_MS)`);
  const response = new Promise<IncomingMessage>((resolveResponse, reject) => {
    const req = client.request(url, {
      method: 'GET',
      headers: { ...headers, 'accept-encoding': 'identity' },
      lookup: pinned(targets),
      agent: false,
      // Idle time on the socket: before it connects, and between bytes of the answer.
      timeout: timeoutMs,
    });
    req.on('timeout', () => {
      state.timedOut = true;
      req.destroy();
    });
    req.on('response', resolveResponse);
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (state.timedOut) return reject(timeout());
      // A certificate that does not verify fails the same way every time: the source's fault, not retried.
      if (err.code && /^(CERT_|ERR_TLS_CERT|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT|UNABLE_TO_(GET|VERIFY)_|ERR_SSL_)/.test(err.code)) {
        return reject(invalid(`GET ${shown} failed: the server's TLS certificate does not verify (${err.code})`, { code: err.code }));
      }
      reject(new Error(`GET ${shown} failed: ${err.code ?? 'network error'}`));
    });
    req.end();
  });
  return { response, timedOut: () => state.timedOut, timeout };
}

/**
 * Downloads `spec` to `file`. Refusals (scheme, credentials, address, redirects, size) and 4xx answers are
 * InvalidSource; 5xx answers, timeouts and network faults are plain errors, retried. No message quotes a
 * body.
 */
export async function downloadUrl(spec: string, headerRefs: HeaderRefs | undefined, access: UrlSourceAccess, file: string): Promise<void> {
  const rules = access.allow.map(parseAllowRule);
  let url: URL;
  try {
    url = new URL(spec);
  } catch {
    throw invalid(`the source path ${shownUrl(spec)} is not a valid URL`);
  }
  checkForm(url, shownUrl(url));
  const origin = url.origin;
  if (headerRefs && Object.keys(headerRefs).length > 0 && !access.headerOrigins.includes(origin)) {
    throw invalid(`header references may be sent only to the origins in SOURCE_HEADER_ORIGINS on the worker, and ${origin} is not one of them`, { origin });
  }
  const headers = await resolveHeaders(headerRefs, access);
  for (let redirects = 0; ; redirects++) {
    // A hop the server chose may carry a signed query string (a bearer credential): show it without one.
    const shown = redirects === 0 ? shownUrl(url) : shownUrl(`${url.origin}${url.pathname}`);
    const targets = await vetAddress(url, rules, shown);
    // Credentials go to the spec's origin only: a redirect elsewhere gets none.
    const request = get(url, targets, url.origin === origin ? headers : {}, access.timeoutMs, shown);
    const res = await request.response;
    const status = res.statusCode ?? 0;
    if (status < 200 || status >= 300) res.destroy(); // no body is read but a file's
    if (status >= 300 && status < 400 && status !== 304) {
      const location = res.headers.location;
      if (!location) throw invalid(`GET ${shown} answered ${status} without a Location`);
      if (redirects >= MAX_REDIRECTS) throw invalid(`GET ${shown} redirected more than ${MAX_REDIRECTS} times; point the source at the final URL`);
      let next: URL;
      try {
        next = new URL(location, url);
      } catch {
        throw invalid(`GET ${shown} redirected to an invalid URL`);
      }
      checkForm(next, shownUrl(next));
      url = next;
      continue;
    }
    if (status < 200 || status >= 300) {
      // 5xx, and the 4xx answers that mean "not now" (timeout, too early, too many requests): retried.
      if (status >= 500 || status === 408 || status === 425 || status === 429) throw new Error(`GET ${shown} answered ${status}`);
      throw invalid(`GET ${shown} answered ${status}`, { status });
    }
    const length = Number(res.headers['content-length']);
    if (Number.isFinite(length) && length > access.maxBytes) {
      res.destroy();
      throw tooLarge(shown, access.maxBytes);
    }
    try {
      await pipeline(res, byteCap(access.maxBytes, shown), createWriteStream(file));
    } catch (err) {
      if (err instanceof PipelineInputError) throw err;
      if (request.timedOut()) throw request.timeout();
      throw new Error(`GET ${shown} failed while reading the answer: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    return;
  }
}
