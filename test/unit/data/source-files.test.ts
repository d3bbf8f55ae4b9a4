// File sources read only under their roots, by real path, never the platform's own data, and never through
// a name the check did not see.
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PipelineInputError } from '../../../data/pipeline-error.js';
import { openAllowedFile, type FilePolicy } from '../../../data/source-files.js';

const base = mkdtempSync(join(tmpdir(), 'mlp-roots-'));
const dataDir = join(base, 'data');
const outside = join(base, 'outside');
for (const d of ['sources/sub', 'postgres', 'temporal', 'artifacts/runs']) mkdirSync(join(dataDir, d), { recursive: true });
mkdirSync(outside);
writeFileSync(join(dataDir, 'sources', 'ok.csv'), 'a,b\n1,2\n');
writeFileSync(join(dataDir, 'sources', 'sub', 'deep.csv'), 'a\n1\n');
writeFileSync(join(outside, 'secret.csv'), 'secret\nhunter2\n');
writeFileSync(join(dataDir, 'postgres', 'pg_hba.conf'), 'hunter2');
writeFileSync(join(dataDir, 'temporal', 'temporal.db'), 'hunter2');
writeFileSync(join(dataDir, 'artifacts', 'runs', 'raw.parquet'), 'hunter2');
writeFileSync(join(dataDir, 'source-reader.password'), 'hunter2');
symlinkSync(join(outside, 'secret.csv'), join(dataDir, 'sources', 'link.csv'));
symlinkSync(outside, join(dataDir, 'sources', 'dirlink'));

const policy = (roots: string[]): FilePolicy => ({ roots, dataDir, artifactDir: join(dataDir, 'artifacts'), what: 'source file', setting: 'SOURCE_FILE_ROOTS' });
const sources = policy([join(dataDir, 'sources')]);

async function read(path: string, p: FilePolicy) {
  const f = await openAllowedFile(path, p, 'csv');
  try {
    return await readFile(f.path, 'utf8');
  } finally {
    await f.close();
  }
}

async function refusal(path: string, p: FilePolicy): Promise<string> {
  const err = await openAllowedFile(path, p, 'csv').then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(PipelineInputError);
  expect((err as PipelineInputError).type).toBe('InvalidSource');
  const message = (err as Error).message;
  expect(message).not.toContain('hunter2');
  expect(message).toContain(`may be read only from under: ${p.roots.join(', ')}`);
  return message;
}

describe('file roots', () => {
  it('reads a file under a root, by absolute or relative path, through a name with the reader\'s extension', async () => {
    expect(await read(join(dataDir, 'sources', 'ok.csv'), sources)).toBe('a,b\n1,2\n');
    expect(await read('sub/deep.csv', sources)).toBe('a\n1\n');
    const f = await openAllowedFile('ok.csv', sources, 'parquet');
    expect(f.path).toMatch(/source\.parquet$/);
    await f.close();
  });

  it('refuses paths outside the roots before looking at them', async () => {
    expect(await refusal('/etc/passwd', sources)).toMatch(/^source file \/etc\/passwd is outside the folders sources may read/);
    expect(await refusal('../../outside/secret.csv', sources)).toMatch(/is outside the folders/);
    expect(await refusal(join(dataDir, 'sources', '..', 'postgres', 'pg_hba.conf'), sources)).toMatch(/is outside the folders/);
    expect(await refusal('/nonexistent/x.csv', sources)).toMatch(/is outside the folders/);
  });

  it('refuses symbolic links out of a root, to a file or a folder', async () => {
    expect(await refusal('link.csv', sources)).toMatch(/resolves \(through a symbolic link or ".."\) to a place outside those folders/);
    expect(await refusal('dirlink/secret.csv', sources)).toMatch(/resolves \(through a symbolic link/);
  });

  it('never reads the platform\'s own data, even when a root contains it', async () => {
    const wide = policy([base]);
    for (const f of ['artifacts/runs/raw.parquet', 'postgres/pg_hba.conf', 'temporal/temporal.db', 'source-reader.password']) {
      expect(await refusal(join(dataDir, f), wide)).toMatch(/is part of the platform's own data/);
    }
    expect(await read(join(outside, 'secret.csv'), wide)).toContain('hunter2');
    // A root inside DATA_DIR opens its own files, not its parent's.
    const both = policy([base, join(dataDir, 'sources')]);
    expect(await read(join(dataDir, 'sources', 'ok.csv'), both)).toBe('a,b\n1,2\n');
    expect(await refusal(join(dataDir, 'source-reader.password'), both)).toMatch(/platform's own data/);
    expect(await refusal(join(dataDir, 'postgres', 'pg_hba.conf'), policy([join(dataDir, 'postgres')]))).toMatch(/platform's own data/);
  });

  it('refuses what is missing or not a regular file, naming the roots', async () => {
    expect(await refusal('missing.csv', sources)).toMatch(/^source file missing.csv does not exist on the worker/);
    expect(await refusal('sub', sources)).toMatch(/is not a regular file/);
    expect(await refusal('/etc/passwd', policy([]))).toContain('(none configured)');
  });
});
