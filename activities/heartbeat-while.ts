// Work with no natural point to heartbeat from (a query, a download, an upload of many files) can outlast
// the activity's heartbeat timeout: report the activity alive on a timer while it runs.
import type { Context } from '@temporalio/activity';

export async function heartbeatWhile<T>(ctx: Context, details: unknown, everyMs: number, work: () => Promise<T>): Promise<T> {
  const alive = setInterval(() => ctx.heartbeat(details), everyMs);
  try {
    return await work();
  } finally {
    clearInterval(alive);
  }
}
