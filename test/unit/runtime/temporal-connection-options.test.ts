// TLS, mTLS and the API key of the Temporal connection: what loadConfig makes of TEMPORAL_TLS* and
// TEMPORAL_API_KEY(_FILE), what runtime/temporal-connection.ts passes to the SDK, and what reaches the wire.
// The wire test needs no Temporal: a local HTTP/2 TLS server with a test CA (made with openssl) records the
// first gRPC call of each connection (GetSystemInfo) and answers it with an empty reply.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createSecureServer, type Http2SecureServer } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { socketAddress } from '../../../app/worker.js';
import { loadConfig } from '../../../runtime/config.js';
import { connectTemporal, temporalConnectionOptions } from '../../../runtime/temporal-connection.js';

const dir = mkdtempSync(join(tmpdir(), 'mlp-temporal-tls-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, content: string) => {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
};
const EXTERNAL = { TEMPORAL_ADDRESS: 'temporal.example.com:7233' };

describe('Temporal connection settings (loadConfig)', () => {
  it('connects in plain text by default, and to the local dev server only so', () => {
    const c = loadConfig({});
    expect(c.temporal.connection).toEqual({ tls: false, caFile: undefined, certFile: undefined, keyFile: undefined, serverName: undefined, apiKey: undefined });
    expect(temporalConnectionOptions(c.temporal.connection)).toEqual({});
    expect(temporalConnectionOptions(loadConfig({ ...EXTERNAL, TEMPORAL_TLS: 'false' }).temporal.connection)).toEqual({});
  });

  it('TEMPORAL_TLS=true alone: TLS against the system CAs', () => {
    for (const v of ['true', '1']) {
      const c = loadConfig({ ...EXTERNAL, TEMPORAL_TLS: v });
      expect(c.temporal.connection.tls).toBe(true);
      expect(temporalConnectionOptions(c.temporal.connection)).toEqual({ tls: {} });
    }
    expect(() => loadConfig({ ...EXTERNAL, TEMPORAL_TLS: 'yes' })).toThrow(/TEMPORAL_TLS: /);
  });

  it('an API key implies TLS, from the setting or a mounted file', () => {
    const c = loadConfig({ ...EXTERNAL, TEMPORAL_API_KEY: 'k3y' });
    expect(c.temporal.connection).toMatchObject({ tls: true, apiKey: 'k3y' });
    expect(temporalConnectionOptions(c.temporal.connection)).toEqual({ tls: {}, apiKey: 'k3y' });

    const keyFile = file('api-key', 'from-file\n');
    expect(loadConfig({ ...EXTERNAL, TEMPORAL_API_KEY_FILE: keyFile }).temporal.connection).toMatchObject({ tls: true, apiKey: 'from-file' });
    // The variable wins over the file, as for every <NAME>_FILE.
    expect(loadConfig({ ...EXTERNAL, TEMPORAL_API_KEY_FILE: keyFile, TEMPORAL_API_KEY: 'env' }).temporal.connection.apiKey).toBe('env');
    expect(() => loadConfig({ ...EXTERNAL, TEMPORAL_API_KEY_FILE: join(dir, 'absent') }))
      .toThrow(/TEMPORAL_API_KEY_FILE points at .*absent, which cannot be read \(ENOENT\); mount the secret there or set TEMPORAL_API_KEY/);
    expect(() => loadConfig({ ...EXTERNAL, TEMPORAL_API_KEY_FILE: file('empty-key', '\n') }))
      .toThrow(/TEMPORAL_API_KEY_FILE: .*empty-key is empty; put the API key in it or unset TEMPORAL_API_KEY_FILE/);
  });

  it('reads the CA, the client pair and the server name into the SDK\'s tls options when connecting', () => {
    const pem = (label: string) => `-----BEGIN ${label}-----\nMIIB\n-----END ${label}-----\n`;
    const ca = file('ca.pem', pem('CERTIFICATE'));
    const crt = file('client.pem', pem('CERTIFICATE'));
    const key = file('client.key', pem('PRIVATE KEY'));
    const c = loadConfig({
      ...EXTERNAL, TEMPORAL_TLS_CA_FILE: ca, TEMPORAL_TLS_CERT_FILE: crt, TEMPORAL_TLS_KEY_FILE: key, TEMPORAL_TLS_SERVER_NAME: 'frontend.internal',
    });
    expect(c.temporal.connection).toEqual({ tls: true, caFile: ca, certFile: crt, keyFile: key, serverName: 'frontend.internal', apiKey: undefined });
    const options = temporalConnectionOptions(c.temporal.connection);
    expect(options).toEqual({
      tls: {
        serverNameOverride: 'frontend.internal',
        serverRootCACertificate: readFileSync(ca),
        clientCertPair: { crt: readFileSync(crt), key: readFileSync(key) },
      },
    });
    // A CA alone or a server name alone turn TLS on as well.
    expect(temporalConnectionOptions(loadConfig({ ...EXTERNAL, TEMPORAL_TLS_CA_FILE: ca }).temporal.connection)).toEqual({ tls: { serverRootCACertificate: readFileSync(ca) } });
    expect(temporalConnectionOptions(loadConfig({ ...EXTERNAL, TEMPORAL_TLS_SERVER_NAME: 'x.internal' }).temporal.connection)).toEqual({ tls: { serverNameOverride: 'x.internal' } });
  });

  it('a file that is missing, unreadable or not PEM is an error naming its setting, raised when connecting', () => {
    const missing = loadConfig({ ...EXTERNAL, TEMPORAL_TLS_CA_FILE: join(dir, 'no-ca.pem') }).temporal.connection;
    expect(() => temporalConnectionOptions(missing))
      .toThrow(/^TEMPORAL_TLS_CA_FILE points at .*no-ca\.pem, which cannot be read \(ENOENT\); mount the CA certificate of the Temporal frontend there or change TEMPORAL_TLS_CA_FILE$/);
    const crt = file('ok.pem', '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
    const noKey = loadConfig({ ...EXTERNAL, TEMPORAL_TLS_CERT_FILE: crt, TEMPORAL_TLS_KEY_FILE: dir }).temporal.connection;
    expect(() => temporalConnectionOptions(noKey)).toThrow(/^TEMPORAL_TLS_KEY_FILE points at .*, which cannot be read \(EISDIR\)/);
    const notPem = loadConfig({ ...EXTERNAL, TEMPORAL_TLS_CERT_FILE: file('empty.pem', ''), TEMPORAL_TLS_KEY_FILE: crt }).temporal.connection;
    expect(() => temporalConnectionOptions(notPem)).toThrow(/^TEMPORAL_TLS_CERT_FILE points at .*empty\.pem, which holds no PEM block \(empty\)/);
  });

  it('refuses settings that contradict each other, naming them', () => {
    const crt = join(dir, 'c.pem');
    expect(() => loadConfig({ ...EXTERNAL, TEMPORAL_TLS_CERT_FILE: crt }))
      .toThrow(/TEMPORAL_TLS_KEY_FILE: unset, but mTLS needs both TEMPORAL_TLS_CERT_FILE and TEMPORAL_TLS_KEY_FILE/);
    expect(() => loadConfig({ ...EXTERNAL, TEMPORAL_TLS_KEY_FILE: crt })).toThrow(/TEMPORAL_TLS_CERT_FILE: unset, but mTLS needs both/);
    // An API key never goes out in clear text.
    expect(() => loadConfig({ ...EXTERNAL, TEMPORAL_TLS: 'false', TEMPORAL_API_KEY: 'k3y' }))
      .toThrow(/TEMPORAL_TLS: false, but TEMPORAL_API_KEY is set, which needs TLS; unset TEMPORAL_TLS or it/);
    expect(() => temporalConnectionOptions({ tls: false, apiKey: 'k3y' })).toThrow(/only sent over TLS/);
    // The local dev server has no TLS: TLS settings without TEMPORAL_ADDRESS are a mistake, not ignored.
    expect(() => loadConfig({ TEMPORAL_API_KEY: 'k3y', TEMPORAL_TLS: 'true' }))
      .toThrow(/TEMPORAL_ADDRESS: unset, which starts the local dev server \(no TLS, no API key\), but TEMPORAL_TLS, TEMPORAL_API_KEY are set/);
  });
});

describe('where the Temporal SDK metrics exporter binds', () => {
  it('on HOST, as an address the SDK parses', () => {
    expect(socketAddress('127.0.0.1', 9464)).toBe('127.0.0.1:9464');
    expect(socketAddress('0.0.0.0', 9464)).toBe('0.0.0.0:9464');
    expect(socketAddress('localhost', 9464)).toBe('127.0.0.1:9464');
    expect(socketAddress('::', 9464)).toBe('[::]:9464');
    expect(socketAddress('[::1]', 9464)).toBe('[::1]:9464');
    expect(loadConfig({}).host).toBe('127.0.0.1');
  });
});

// ------------------------------------------------------------------------------------------------------
// On the wire
// ------------------------------------------------------------------------------------------------------
function openssl(...args: string[]) {
  const r = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8', timeout: 20_000 });
  if ((r.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') throw new Error('openssl is not installed (it makes the test CA); install Debian\'s openssl package');
  if (r.status !== 0) throw new Error(`openssl ${args.join(' ')}\n${r.stderr}`);
}

/** A CA, a server certificate for temporal.test only, and a client certificate (CN mlp-worker). */
function makeCertificates() {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  openssl('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-subj', '/CN=mlp test CA', '-days', '2',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
  const leaf = (name: string, cn: string, ext: string) => {
    file(`${name}.ext`, `basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n${ext}\n`);
    openssl('req', '-new', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`);
    openssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.crt`, '-days', '2', '-extfile', `${name}.ext`);
  };
  leaf('server', 'temporal.test', 'extendedKeyUsage=serverAuth\nsubjectAltName=DNS:temporal.test');
  leaf('client', 'mlp-worker', 'extendedKeyUsage=clientAuth');
}

interface Seen { path: string; authorization?: string; namespace?: string; authority: string; clientCn?: string }

describe('Temporal connection on the wire (a local TLS gRPC endpoint, not Temporal)', () => {
  let server: Http2SecureServer;
  let address: string;
  const seen: Seen[] = [];

  beforeAll(async () => {
    makeCertificates();
    // mTLS: the server asks for a client certificate signed by the test CA and refuses a connection without one.
    server = createSecureServer({
      key: readFileSync(join(dir, 'server.key')), cert: readFileSync(join(dir, 'server.crt')), ca: readFileSync(join(dir, 'ca.crt')),
      requestCert: true, rejectUnauthorized: true,
    });
    server.on('stream', (stream, headers) => {
      const peer = (stream.session?.socket as TLSSocket | undefined)?.getPeerCertificate();
      seen.push({
        path: String(headers[':path']), authorization: headers.authorization as string | undefined, namespace: headers['temporal-namespace'] as string | undefined,
        authority: String(headers[':authority']), clientCn: peer?.subject?.CN as string | undefined,
      });
      // An empty GetSystemInfoResponse: one uncompressed, zero-length message, then status OK.
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.end(Buffer.alloc(5));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

  const settings = () => loadConfig({
    TEMPORAL_ADDRESS: address, TEMPORAL_API_KEY: 'k3y', TEMPORAL_TLS_SERVER_NAME: 'temporal.test',
    TEMPORAL_TLS_CA_FILE: join(dir, 'ca.crt'), TEMPORAL_TLS_CERT_FILE: join(dir, 'client.crt'), TEMPORAL_TLS_KEY_FILE: join(dir, 'client.key'),
  }).temporal.connection;

  it('the client connection (no call scopes) sends the client certificate, the server name, the API key and the namespace', async () => {
    seen.length = 0;
    const connection = await connectTemporal(address, 'ns-1', settings());
    await connection.close();
    expect(seen).toEqual([{
      path: '/temporal.api.workflowservice.v1.WorkflowService/GetSystemInfo',
      authorization: 'Bearer k3y', namespace: 'ns-1', authority: 'temporal.test', clientCn: 'mlp-worker',
    }]);
  });

  it('the worker\'s NativeConnection gets the same TLS, client certificate and API key', async () => {
    seen.length = 0;
    const { NativeConnection } = await import('@temporalio/worker');
    const connection = await NativeConnection.connect({ address, ...temporalConnectionOptions(settings()) });
    await connection.close();
    expect(seen).toEqual([{
      path: '/temporal.api.workflowservice.v1.WorkflowService/GetSystemInfo',
      authorization: 'Bearer k3y', namespace: undefined, authority: 'temporal.test', clientCn: 'mlp-worker',
    }]);
  });
});
