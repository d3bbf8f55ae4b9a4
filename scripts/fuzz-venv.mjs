#!/usr/bin/env node
// The Python virtualenv of the API fuzzer: schemathesis, pinned, in .tools/fuzz-venv. Python is a test tool
// here only (`npm test`'s bounded fuzz run, `npm run fuzz`), never part of the platform at runtime.
// `node scripts/setup.mjs --test` installs it through ensureFuzzVenv(); `node scripts/fuzz-venv.mjs` does it
// alone. Quick when already installed: the marker file holds the pinned version. Plain Node, no dependencies.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** The schemathesis release the fuzz runs use (PyPI); change it here only. */
export const SCHEMATHESIS_VERSION = '4.32.5';
export const FUZZ_VENV = join(root, '.tools', 'fuzz-venv');
export const SCHEMATHESIS_BIN = join(FUZZ_VENV, 'bin', 'schemathesis');
const MARKER = join(FUZZ_VENV, '.schemathesis-version');
const venvPython = join(FUZZ_VENV, 'bin', 'python');

/** Whether the venv holds the pinned schemathesis (what the fuzz runs check before starting). */
export function fuzzVenvReady() {
  if (!existsSync(SCHEMATHESIS_BIN) || !existsSync(MARKER)) return false;
  return readFileSync(MARKER, 'utf8').trim() === SCHEMATHESIS_VERSION;
}

function onPath(bin) {
  const r = spawnSync('sh', ['-c', `command -v ${bin}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

/** apt-get install of Debian packages, as root or through sudo; false when neither is possible. */
function aptInstall(packages, step, fail) {
  if (!onPath('apt-get')) return false;
  const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const sudo = asRoot ? [] : onPath('sudo') ? ['sudo'] : null;
  if (!sudo) return false;
  step(`fuzz venv: apt-get install ${packages.join(' ')} (first time only)…`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const apt = (args) => spawnSync(sudo[0] ?? 'apt-get', [...sudo.slice(1), ...(sudo.length ? ['apt-get'] : []), '-o', 'DPkg::Lock::Timeout=300', ...args], { stdio: 'inherit', env });
  if (apt(['update', '-qq']).status !== 0) fail('apt-get update failed; check that Debian\'s package mirror is reachable.');
  if (apt(['install', '-y', '-qq', '--no-install-recommends', ...packages]).status !== 0) fail(`apt-get install ${packages.join(' ')} failed.`);
  return true;
}

function createVenv(python) {
  rmSync(FUZZ_VENV, { recursive: true, force: true });
  const r = spawnSync(python, ['-m', 'venv', FUZZ_VENV], { encoding: 'utf8' });
  if (r.status !== 0) rmSync(FUZZ_VENV, { recursive: true, force: true });
  return r;
}

/**
 * Makes .tools/fuzz-venv with the pinned schemathesis unless it is there already. `step` prints a progress
 * line, `fail` prints an error and exits (setup.mjs's own).
 */
export function ensureFuzzVenv({ step, fail }) {
  if (fuzzVenvReady()) return step(`fuzz venv: schemathesis ${SCHEMATHESIS_VERSION} in ${FUZZ_VENV}`);
  let python = onPath('python3');
  if (!python) {
    if (!aptInstall(['python3', 'python3-venv'], step, fail)) fail('python3 is missing; install Python 3.9 or later with its venv module (Debian: apt-get install -y python3 python3-venv) and retry `node scripts/setup.mjs --test`.');
    python = onPath('python3');
    if (!python) fail('python3 was installed but is not on PATH.');
  }
  if (!existsSync(venvPython)) {
    step(`fuzz venv: ${python} -m venv ${FUZZ_VENV}`);
    let r = createVenv(python);
    // Debian ships the venv module (ensurepip) in a package of its own.
    if (r.status !== 0 && /ensurepip|python3(\.\d+)?-venv/.test(`${r.stdout}${r.stderr}`) && aptInstall(['python3-venv'], step, fail)) r = createVenv(python);
    if (r.status !== 0) {
      fail(`\`${python} -m venv\` failed:\n${`${r.stdout}${r.stderr}`.trim()}\nInstall Python's venv module (Debian: apt-get install -y python3-venv) and retry \`node scripts/setup.mjs --test\`.`);
    }
  }
  step(`fuzz venv: pip install schemathesis==${SCHEMATHESIS_VERSION} (first time only, about half a minute)…`);
  const pip = spawnSync(venvPython, ['-m', 'pip', 'install', '--disable-pip-version-check', '--no-input', '-q', `schemathesis==${SCHEMATHESIS_VERSION}`], { stdio: 'inherit' });
  if (pip.status !== 0) fail(`pip install schemathesis==${SCHEMATHESIS_VERSION} into ${FUZZ_VENV} failed; check that PyPI is reachable (pip honours PIP_INDEX_URL) and retry \`node scripts/setup.mjs --test\`.`);
  const version = spawnSync(SCHEMATHESIS_BIN, ['--version'], { encoding: 'utf8' });
  if (version.status !== 0 || !version.stdout.includes(SCHEMATHESIS_VERSION)) {
    fail(`${SCHEMATHESIS_BIN} --version did not report ${SCHEMATHESIS_VERSION}:\n${`${version.stdout ?? ''}${version.stderr ?? ''}`.trim()}\nDelete ${FUZZ_VENV} and retry \`node scripts/setup.mjs --test\`.`);
  }
  writeFileSync(MARKER, `${SCHEMATHESIS_VERSION}\n`);
  step(`fuzz venv: schemathesis ${SCHEMATHESIS_VERSION} installed in ${FUZZ_VENV}`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  ensureFuzzVenv({
    step: (msg) => process.stdout.write(`[setup] ${msg}\n`),
    fail: (msg) => {
      process.stderr.write(`[setup] error: ${msg}\n`);
      process.exit(1);
    },
  });
}
