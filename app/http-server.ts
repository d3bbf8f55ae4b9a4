// Serving a fetch handler on a port, for the platform's processes (the API, the worker's probes, each
// process of a clustered API): a port in use is reported with the setting that chooses it.
import { serve, type ServerType } from '@hono/node-server';

export function listen(fetch: (req: Request) => Response | Promise<Response>, port: number, host: string, setting: string): Promise<ServerType> {
  return new Promise((resolve, reject) => {
    const s = serve({ fetch, port, hostname: host }, () => resolve(s));
    s.once('error', (err: NodeJS.ErrnoException) => reject(err.code === 'EADDRINUSE' ? new Error(`port ${port} is in use; set ${setting} to another port`) : err));
  });
}

/** Stops accepting connections and resolves once the requests under way have been answered. */
export function closeServer(server: ServerType): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

export function boundPort(server: ServerType, fallback: number): number {
  const addr = server.address();
  return typeof addr === 'object' && addr ? addr.port : fallback;
}
