// Ctrl-C during a benchmark that owns a temporary PostgreSQL: stop it and remove its folder, once.
// Ctrl-C reaches the process twice (from the terminal and relayed by tsx): a signal within a second of the
// first is the same Ctrl-C. A later one exits at once; the benchmark's exit hook removes the folder.

/** On SIGINT or SIGTERM: say `stopping`, run `shutdown` (at most 30 s), exit 130. `interrupted` tells a failure caused by the stop from a real one. */
export function stopOnSignals(stopping: string, shutdown: () => Promise<void>): { readonly interrupted: boolean } {
  let interrupted = false;
  let interruptedAt = 0;
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.on(sig, () => {
      if (interrupted) {
        if (Date.now() - interruptedAt > 1000) process.exit(130);
        return;
      }
      interrupted = true;
      interruptedAt = Date.now();
      console.error(`\n${sig}: ${stopping}…`);
      const hard = setTimeout(() => process.exit(130), 30_000);
      hard.unref();
      void shutdown().finally(() => process.exit(130));
    });
  }
  return { get interrupted() { return interrupted; } };
}
