// What the project's Python virtualenvs share (scripts/fuzz-venv.mjs for the API fuzzer, scripts/bench-venv.mjs
// for the benchmark peers): finding python3, installing it with apt-get when it is missing, and making a venv.
// Python is a tool of tests and benchmarks only, never part of the platform at runtime. Plain Node, no
// dependencies. Each caller passes `label` (the prefix of its progress lines), `step` (prints a progress
// line), `fail` (prints an error and exits) and `retry` (the command to suggest after a fix).
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';

/** The absolute path of `bin` on PATH, or null. */
export function onPath(bin) {
  const r = spawnSync('sh', ['-c', `command -v ${bin}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

/** apt-get install of Debian packages, as root or through sudo; false when neither is possible. */
export function aptInstall(packages, { label, step, fail }) {
  if (!onPath('apt-get')) return false;
  const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const sudo = asRoot ? [] : onPath('sudo') ? ['sudo'] : null;
  if (!sudo) return false;
  step(`${label}: apt-get install ${packages.join(' ')} (first time only)…`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  // Another apt-get (a concurrent setup, unattended upgrades) may hold the lock: wait for it, up to 5 minutes.
  const apt = (args) => spawnSync(sudo[0] ?? 'apt-get', [...sudo.slice(1), ...(sudo.length ? ['apt-get'] : []), '-o', 'DPkg::Lock::Timeout=300', ...args], { stdio: 'inherit', env });
  if (apt(['update', '-qq']).status !== 0) fail('apt-get update failed; check that Debian\'s package mirror is reachable.');
  if (apt(['install', '-y', '-qq', '--no-install-recommends', ...packages]).status !== 0) fail(`apt-get install ${packages.join(' ')} failed.`);
  return true;
}

/** The python3 on PATH, installed with apt-get first when there is none. */
export function findPython3({ label, step, fail, retry }) {
  let python = onPath('python3');
  if (!python) {
    if (!aptInstall(['python3', 'python3-venv'], { label, step, fail })) fail(`python3 is missing; install Python 3.9 or later with its venv module (Debian: apt-get install -y python3 python3-venv) and retry \`${retry}\`.`);
    python = onPath('python3');
    if (!python) fail('python3 was installed but is not on PATH.');
  }
  return python;
}

function createVenv(python, dir) {
  rmSync(dir, { recursive: true, force: true });
  const r = spawnSync(python, ['-m', 'venv', dir], { encoding: 'utf8' });
  if (r.status !== 0) rmSync(dir, { recursive: true, force: true });
  return r;
}

/** The python of the venv in `dir`; makes the venv with `python -m venv` unless it exists already. */
export function ensureVenv(dir, python, { label, step, fail, retry }) {
  const venvPython = join(dir, 'bin', 'python');
  if (existsSync(venvPython)) return venvPython;
  step(`${label}: ${python} -m venv ${dir}`);
  let r = createVenv(python, dir);
  // Debian ships the venv module (ensurepip) in a package of its own.
  if (r.status !== 0 && /ensurepip|python3(\.\d+)?-venv/.test(`${r.stdout}${r.stderr}`) && aptInstall(['python3-venv'], { label, step, fail })) r = createVenv(python, dir);
  if (r.status !== 0) {
    fail(`\`${python} -m venv\` failed:\n${`${r.stdout}${r.stderr}`.trim()}\nInstall Python's venv module (Debian: apt-get install -y python3-venv) and retry \`${retry}\`.`);
  }
  return venvPython;
}
