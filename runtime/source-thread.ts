// Starting a worker thread (or a child process) from a module of this project, whether it runs as
// TypeScript source (tsx, vitest) or compiled to dist/. On Node 20, tsx does not register its hooks in
// worker threads by itself, so in source mode the thread first registers tsx's ESM API, then imports the
// entry; a child process gets tsx's loader on its command line.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';

/** `entry` is the `.ts` module URL; the compiled `.js` beside it is used when running from dist/. */
export function spawnSourceThread(entry: URL, options: WorkerOptions = {}): Worker {
  if (import.meta.url.endsWith('.ts')) {
    const bootstrap =
      `import(${JSON.stringify(tsxRegisterApiUrl())})` +
      `.then((tsx) => { tsx.register(); return import(${JSON.stringify(entry.href)}); });`;
    return new Worker(bootstrap, { ...options, eval: true, execArgv: withoutTsxLoader(process.execArgv) });
  }
  return new Worker(new URL(entry.href.replace(/\.ts$/, '.js')), options);
}

/**
 * How to run `entry` (the `.ts` module URL) as the main module of a child process, such as a node:cluster
 * worker: the file, and the parent's Node flags, with tsx's loader (once) in source mode; the compiled `.js`
 * beside it when running from dist/.
 */
export function sourceProcessEntry(entry: URL): { exec: string; execArgv: string[] } {
  if (import.meta.url.endsWith('.ts')) {
    const loader = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
    return { exec: fileURLToPath(entry), execArgv: [...withoutTsxLoader(process.execArgv), '--import', loader] };
  }
  return { exec: fileURLToPath(entry.href.replace(/\.ts$/, '.js')), execArgv: [...process.execArgv] };
}

function tsxRegisterApiUrl(): string {
  const cjs = createRequire(import.meta.url).resolve('tsx/esm/api');
  const mjs = cjs.replace(/\.c?js$/, '.mjs');
  if (!existsSync(mjs)) throw new Error(`cannot locate tsx's ESM register API next to ${cjs}`);
  return pathToFileURL(mjs).href;
}

function withoutTsxLoader(execArgv: string[]): string[] {
  const loaderFlags = new Set(['--import', '--require', '-r', '--loader', '--experimental-loader']);
  const out: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const arg = execArgv[i];
    const eq = arg.indexOf('=');
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    if (!loaderFlags.has(flag)) {
      out.push(arg);
      continue;
    }
    const value = eq > 0 ? arg.slice(eq + 1) : execArgv[i + 1] ?? '';
    const consumed = eq > 0 ? 0 : 1;
    if (/(^|[\\/])tsx([\\/]|$)/.test(value)) {
      i += consumed;
      continue;
    }
    out.push(arg);
    if (consumed) out.push(execArgv[++i]);
  }
  return out;
}

/** A Float32Array whose buffer can be transferred without detaching unrelated data. */
