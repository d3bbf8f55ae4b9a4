// The platform's Temporal connection leaves promise hooks off, where the SDK's own turns them on for the
// whole process at the first namespaced call (runtime/temporal-connection.ts says why that matters). Each
// side runs in a fresh process: the test runner's own hooks would hide the difference here.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, inject, it } from 'vitest';
import { projectRoot } from '../../runtime/project-root.js';

const probe = async (kind: 'platform' | 'sdk') => {
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', join(projectRoot, 'test', 'support', 'promise-hooks-probe.ts'), inject('temporalAddress'), kind], { cwd: projectRoot, timeout: 60_000 });
  return JSON.parse(stdout.trim().split('\n').pop()!) as { promiseHooks: boolean; namespaceHeader: string | null };
};

describe('Temporal connection', () => {
  it('makes namespaced calls without turning on promise hooks, sending the namespace as a header on every call', async () => {
    const [platform, sdk] = await Promise.all([probe('platform'), probe('sdk')]);
    expect(sdk.promiseHooks).toBe(true); // the probe sees hooks when they are there
    expect(platform).toEqual({ promiseHooks: false, namespaceHeader: 'default' });
  });
});
