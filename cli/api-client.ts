// The CLI talks to the platform through its HTTP API, so it works the same against a remote deployment.
// Response types come from the API's own schemas (api/schemas/), as types only: nothing of the API loads here.
import { userInfo } from 'node:os';
import type { ErrorBody } from '../api/schemas/common.js';

export class ApiClient {
  constructor(readonly baseUrl: string) {}

  /** `T` is the route's success response type (z.infer of its schema); errors throw with the API's code and message. */
  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    let res: Response;
    try {
      res = await fetch(`${this.baseUrl}${path}`, {
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/json', 'x-actor': `cli:${userInfo().username}` },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch {
      throw new Error(`cannot reach the API at ${this.baseUrl}; start the platform with \`npm start\` or set API_URL`);
    }
    const text = await res.text();
    const json: unknown = text ? JSON.parse(text) : {};
    if (!res.ok) {
      const e = (json as Partial<ErrorBody> | null)?.error;
      throw new Error(`${method} ${path} → ${res.status} ${e?.code ?? ''}: ${e?.message ?? text}`);
    }
    return json as T;
  }
}
