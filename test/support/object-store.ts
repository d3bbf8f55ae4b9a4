// A real S3-compatible server for the tests of ARTIFACT_STORE=s3: the Versity S3 gateway (installed into
// .tools/bin by `scripts/setup.mjs --test`) over a temporary folder, on a free loopback port, with one
// bucket. Started and stopped by the test file that needs it.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, ListBucketsCommand, S3Client } from '@aws-sdk/client-s3';
import { freePort } from '../../app/free-port.js';

const VERSITYGW = join(import.meta.dirname, '..', '..', '.tools', 'bin', 'versitygw');

export interface ObjectStoreServer {
  endpoint: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** The settings that point the platform at this server (a prefix of its own per call). */
  env(prefix?: string): Record<string, string>;
  client: S3Client;
  stop(): Promise<void>;
}

export async function startObjectStore(): Promise<ObjectStoreServer> {
  if (!existsSync(VERSITYGW)) throw new Error(`${VERSITYGW} is missing: run \`node scripts/setup.mjs --test\` (npm test does) to install the S3 server the tests use`);
  const root = await mkdtemp(join(tmpdir(), 'mlp-s3-'));
  const port = await freePort();
  const accessKeyId = `test${randomBytes(4).toString('hex')}`;
  const secretAccessKey = randomBytes(16).toString('hex');
  const child = spawn(VERSITYGW, ['--port', `127.0.0.1:${port}`, '--quiet', 'posix', root], {
    env: { ...process.env, ROOT_ACCESS_KEY: accessKeyId, ROOT_SECRET_KEY: secretAccessKey },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (b) => (output += b));
  child.stderr!.on('data', (b) => (output += b));
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new S3Client({ region: 'us-east-1', endpoint, forcePathStyle: true, credentials: { accessKeyId, secretAccessKey } });
  const stop = async () => {
    client.destroy();
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    await rm(root, { recursive: true, force: true });
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    const up = await client.send(new ListBucketsCommand({})).then(() => true, () => false);
    if (up) break;
    if (Date.now() > deadline || child.exitCode !== null) {
      await stop();
      throw new Error(`the S3 server did not start:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const bucket = 'mlp-artifacts';
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  return {
    endpoint, bucket, accessKeyId, secretAccessKey, client, stop,
    env: (prefix = `p-${randomBytes(3).toString('hex')}`) => ({
      ARTIFACT_STORE: 's3', ARTIFACT_S3_BUCKET: bucket, ARTIFACT_S3_PREFIX: prefix, ARTIFACT_S3_ENDPOINT: endpoint,
      ARTIFACT_S3_ACCESS_KEY_ID: accessKeyId, ARTIFACT_S3_SECRET_ACCESS_KEY: secretAccessKey,
    }),
  };
}
