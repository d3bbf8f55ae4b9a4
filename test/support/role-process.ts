// A platform role (`mlp api`, `mlp worker`) in its own process, as a container runs it: started with the
// given environment, awaited until its startup probe answers, and stopped with SIGTERM.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

const MLP = join(import.meta.dirname, '..', '..', 'bin', 'mlp.mjs');

export interface RoleProcess {
  child: ChildProcess;
  /** Everything the process wrote so far (stdout and stderr). */
  output(): string;
  /** Sends SIGTERM and resolves with the exit code once it has exited (at once if it already has). */
  stop(): Promise<number | null>;
}

export async function startRole(role: 'api' | 'worker', opts: { env: Record<string, string>; startupUrl: string; nodeArgs?: string[] }): Promise<RoleProcess> {
  const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), MLP, role], {
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (b) => (output += b));
  child.stderr!.on('data', (b) => (output += b));
  const handle: RoleProcess = {
    child,
    output: () => output,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
      child.kill('SIGTERM');
      return exited;
    },
  };
  const deadline = Date.now() + 60_000;
  for (;;) {
    const ok = await fetch(opts.startupUrl).then((r) => r.ok, () => false);
    if (ok) return handle;
    if (Date.now() > deadline || child.exitCode !== null) {
      await handle.stop();
      throw new Error(`mlp ${role} did not start:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}
