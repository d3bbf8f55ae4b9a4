// Frees the native memory of dataframes a finished stage no longer uses. nodejs-polars frees a frame's
// (Rust) memory only when the garbage collector finalizes its JS wrapper, and the wrapper is small, so V8
// sees no reason to collect it: a worker that ran a stage over 3,000,000 rows kept hundreds of MB of dead
// frames into the next stage (bench/flights.ts measured the peak RSS of three runs grow from 1.6 to 2.1 GB).
// A full collection after each data-heavy activity gives that memory back; it costs tens of milliseconds.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let collect: (() => void) | null = null;

function gcFunction(): () => void {
  if (!collect) {
    // The documented way to reach V8's collector without starting Node with --expose-gc: the flag is set
    // for contexts made after it, and a fresh context hands out its `gc` function.
    setFlagsFromString('--expose-gc');
    collect = runInNewContext('gc') as () => void;
  }
  return collect;
}

/**
 * A full garbage collection, so the native memory of unreachable dataframes is freed now. Never throws: a
 * runtime where the collector cannot be reached only keeps the memory longer.
 */
export function releaseUnusedMemory(): void {
  try {
    gcFunction()();
  } catch {
    collect = () => undefined;
  }
}
