// The CLI talks to the platform through its HTTP API, so it works the same against a remote deployment.
// Response types come from the API's own schemas (api/schemas/), as types only: nothing of the API loads here.
import { readFileSync } from 'node:fs';
import type { ErrorBody } from '../api/schemas/common.js';
import { cliKeyFile } from '../app/admin-key.js';
import type { Config } from '../runtime/config.js';

/** The key the CLI sends: MLP_API_KEY, else the one `mlp up` stored on its first start. */
export function cliApiKey(config: Config): string | null {
  if (config.apiKey) return config.apiKey;
  try {
    return readFileSync(cliKeyFile(config.dataDir), 'utf8').trim() || null;
  } catch {
    return null;
  }
}

export class ApiClient {
  constructor(readonly baseUrl: string, private readonly apiKey: string | null) {}

  /** Headers that authenticate a request (also for the CLI's own fetches of non-JSON answers). */
  authHeaders(): Record<string, string> {
    return this.apiKey ? { authorization: `Bearer ${this.apiKey}` } : {};
  }

  /** `T` is the route's success response type (z.infer of its schema); errors throw with the API's code and message. */
  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.send(method, path, body);
    const text = await res.text();
    if (!res.ok) throw this.failure(method, path, res, text);
    return (text ? JSON.parse(text) : {}) as T;
  }

  /** A GET of a non-JSON answer (a file), as the response to read its body from; errors throw as `request`'s do. */
  async download(path: string): Promise<Response> {
    const res = await this.send('GET', path);
    if (!res.ok) throw this.failure('GET', path, res, await res.text());
    return res;
  }

  private async send(method: string, path: string, body?: unknown): Promise<Response> {
    try {
      return await fetch(`${this.baseUrl}${path}`, {
        method,
        headers: { ...this.authHeaders(), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch {
      throw new Error(`cannot reach the API at ${this.baseUrl}; start the platform with \`npm start\` or set API_URL`);
    }
  }

  private failure(method: string, path: string, res: Response, text: string): Error {
    let json: unknown = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      // Not the API's JSON error (a proxy's page, say): the text itself is the message.
    }
    const e = (json as Partial<ErrorBody> | null)?.error;
    const hint = res.status === 401 && !this.apiKey ? ' (no API key: set MLP_API_KEY, or start the platform once with `npm start`, which stores an admin key for the CLI)' : '';
    return new Error(`${method} ${path} → ${res.status} ${e?.code ?? ''}: ${e?.message ?? text}${hint}`);
  }
}
