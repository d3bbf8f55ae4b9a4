// The platform's Temporal client connection (API and CLI). The SDK's Connection scopes deadlines, metadata
// and abort signals per call with an AsyncLocalStorage, and wraps every workflow-service call that names a
// namespace in such a scope to send the namespace header. On Node 20 the first scope switches on promise
// hooks for the whole process, for good: every promise of every prediction then pays for them (57 → 69 µs
// of CPU a single-row predict request, bench/serving.ts against --control-plane-first, measured before this
// connection existed). This one sends the namespace header as static metadata on every call instead, and
// has no call scopes: withDeadline, withMetadata, withAbortSignal and withApiKey run their function as it
// is. Nothing in the platform scopes calls (it uses the client's own timeouts and the connection's
// defaults); a test checks that calls through it leave promise hooks off.
//
// TLS and the API key (TEMPORAL_TLS*, TEMPORAL_API_KEY) are connection options, not call scopes: the API key
// is the static `apiKey` option, which the SDK turns into the Authorization header of every call without
// reading the call context, so it works here (test/unit/runtime/temporal-connection-options.test.ts checks
// the header on the wire). withApiKey and setApiKey are never used. The worker's NativeConnection gets the
// same options from temporalConnectionOptions (app/worker.ts).
import { readFileSync } from 'node:fs';
import { Connection, type ConnectionOptions, type TLSConfig } from '@temporalio/client';

/** A stand-in for the connection's AsyncLocalStorage that scopes nothing, so it never turns hooks on. */
class NoCallScopes {
  getStore(): undefined {
    return undefined;
  }
  run<R, A extends unknown[]>(_store: unknown, fn: (...args: A) => R, ...args: A): R {
    return fn(...args);
  }
  exit<R, A extends unknown[]>(fn: (...args: A) => R, ...args: A): R {
    return fn(...args);
  }
  enterWith(): void {}
  disable(): void {}
}

class UnscopedConnection extends Connection {
  // The RPC implementations built by createCtorOptions read the SDK's own storage, which nothing ever
  // enters now: they see no call context, as for any call made outside a scope.
  protected static override createCtorOptions(options: ConnectionOptions) {
    const ctor = super.createCtorOptions(options);
    return { ...ctor, callContextStorage: new NoCallScopes() as unknown as typeof ctor.callContextStorage };
  }
}

/** How to reach the Temporal frontend securely: Config['temporal']['connection'] (runtime/config.ts). */
export interface TemporalConnectionSettings {
  /** TLS on (loadConfig turns it on for a CA, a client pair, a server name or an API key). */
  tls: boolean;
  /** PEM files: the CA of the frontend's certificate; the client certificate and key for mTLS. */
  caFile?: string;
  certFile?: string;
  keyFile?: string;
  /** The name the frontend's certificate is checked against (default: the host of the address). */
  serverName?: string;
  /** Sent as `Authorization: Bearer <key>` on every call. */
  apiKey?: string;
}

/**
 * The SDK's `tls` and `apiKey` connection options from the settings, reading the PEM files now (a renewed
 * certificate is picked up by the next connection). Shared by the client connection and the worker's
 * NativeConnection. A file that cannot be read, or holds no PEM block, is an error naming its setting.
 */
export function temporalConnectionOptions(settings: TemporalConnectionSettings): { tls?: TLSConfig; apiKey?: string } {
  if (settings.apiKey !== undefined && !settings.tls) {
    // loadConfig never produces this; a hand-made settings object must not send the key in clear text.
    throw new Error('TEMPORAL_API_KEY is set but TLS is off: an API key is only sent over TLS');
  }
  if (!settings.tls) return {};
  const tls: TLSConfig = {};
  if (settings.serverName) tls.serverNameOverride = settings.serverName;
  if (settings.caFile) tls.serverRootCACertificate = readPem('TEMPORAL_TLS_CA_FILE', settings.caFile, 'the CA certificate of the Temporal frontend');
  if (settings.certFile || settings.keyFile) {
    if (!settings.certFile || !settings.keyFile) throw new Error('mTLS needs both TEMPORAL_TLS_CERT_FILE and TEMPORAL_TLS_KEY_FILE');
    tls.clientCertPair = {
      crt: readPem('TEMPORAL_TLS_CERT_FILE', settings.certFile, 'the client certificate'),
      key: readPem('TEMPORAL_TLS_KEY_FILE', settings.keyFile, 'the client certificate\'s private key'),
    };
  }
  return settings.apiKey === undefined ? { tls } : { tls, apiKey: settings.apiKey };
}

function readPem(setting: string, file: string, what: string): Buffer {
  let content: Buffer;
  try {
    content = readFileSync(file);
  } catch (err) {
    throw new Error(`${setting} points at ${file}, which cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'}); mount ${what} there or change ${setting}`);
  }
  if (!content.toString('latin1').includes('-----BEGIN ')) {
    throw new Error(`${setting} points at ${file}, which holds no PEM block (${content.length === 0 ? 'empty' : 'no -----BEGIN line'}); it must be ${what} in PEM form`);
  }
  return content;
}

/**
 * The platform's client connection: the namespace header as static metadata, no call scopes, and the TLS and
 * API key of `settings`.
 */
export function connectTemporal(address: string, namespace: string, settings: TemporalConnectionSettings): Promise<Connection> {
  return UnscopedConnection.connect({ address, metadata: { 'temporal-namespace': namespace }, ...temporalConnectionOptions(settings) });
}
