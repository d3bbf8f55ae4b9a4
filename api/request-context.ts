import type { Context } from 'hono';
import type { ApiDeps } from './deps.js';

/** Who is acting, for audit rows: the X-Actor header when sent (an API gateway sets it), else the configured default. */
export function actorOf(c: Context, deps: ApiDeps): string {
  const h = c.req.header('x-actor');
  return h && /^[\w.@:-]{1,100}$/.test(h) ? h : deps.config.defaultActor;
}
