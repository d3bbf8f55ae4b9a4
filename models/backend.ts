import { createRequire } from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';

/**
 * The single tfjs instance used by all models code. `@tensorflow/tfjs` and
 * `@tensorflow/tfjs-backend-wasm` resolve to their CommonJS builds in Node and
 * share the one `@tensorflow/tfjs-core` engine; importing tf from here (rather
 * than each module importing its own flavour) keeps it that way, so a backend
 * chosen by `initBackend` is the one every op runs on.
 */
export { tf };

export type BackendName = 'tensorflow' | 'wasm' | 'cpu';

let chosen: Promise<BackendName> | null = null;

/**
 * Selects the fastest backend that really works here, once per thread
 * (each worker thread has its own tfjs engine and must call this itself):
 *   1. `tensorflow` — native libtensorflow via the optional `@tensorflow/tfjs-node`;
 *   2. `wasm` — XNNPACK kernels, markedly faster than `cpu` for wider layers
 *      and bit-for-bit reproducible run to run;
 *   3. `cpu` — pure JS, always available.
 * Each candidate is verified by running a tiny op, because `setBackend` can
 * report success for a backend whose kernels later fail.
 * Logs nothing; returns the chosen name.
 */
export function initBackend(): Promise<BackendName> {
  chosen ??= selectBackend();
  return chosen;
}

async function selectBackend(): Promise<BackendName> {
  if ((await tryTensorflowNode()) && (await activate('tensorflow'))) return 'tensorflow';
  if ((await tryRegisterWasm()) && (await activate('wasm'))) return 'wasm';
  if (await activate('cpu')) return 'cpu';
  throw new Error('no usable tfjs backend (tensorflow, wasm and cpu all failed)');
}

async function tryTensorflowNode(): Promise<boolean> {
  // A variable specifier keeps TypeScript from requiring the optional package
  // at compile time; it is an optionalDependency whose native lib is often
  // missing, so any failure (not installed, dlopen error) just means "skip".
  const specifier = '@tensorflow/tfjs-node';
  try {
    await import(specifier);
    // The package registers 'tensorflow' with whichever tfjs-core it resolved;
    // if that is not ours (duplicate install), the backend is absent here.
    return tf.findBackendFactory('tensorflow') != null;
  } catch {
    return false;
  }
}

async function tryRegisterWasm(): Promise<boolean> {
  try {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    // In Node the emscripten loader would look for the .wasm binaries next to
    // the *calling* script; point it at the package's dist/ explicitly.
    const require = createRequire(import.meta.url);
    const wasmFile = require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm');
    wasm.setWasmPaths(path.dirname(wasmFile) + path.sep);
    return tf.findBackendFactory('wasm') != null;
  } catch {
    return false;
  }
}

async function activate(name: BackendName): Promise<boolean> {
  try {
    if (!(await tf.setBackend(name))) return false;
    await tf.ready();
    const ok = tf.tidy(() => {
      const y = tf.matMul(tf.tensor2d([1, 2, 3, 4], [2, 2]), tf.tensor2d([1, 0, 0, 1], [2, 2])).relu();
      const v = y.dataSync();
      return v[0] === 1 && v[3] === 4;
    });
    return ok && tf.getBackend() === name;
  } catch {
    return false;
  }
}
