// The CLI talks to the platform through its HTTP API, so it works the same against a remote deployment.
import { userInfo } from 'node:os';
export class ApiClient {
  constructor(readonly baseUrl: string) {}

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
    const json = text ? JSON.parse(text) : {};
    if (!res.ok) {
      const e = json?.error;
      throw new Error(`${method} ${path} → ${res.status} ${e?.code ?? ''}: ${e?.message ?? text}`);
    }
    return json as T;
  }
}
