// How many cores this process may use: what the default of API_PROCESSES is made of. Node 20's
// os.availableParallelism() sees the CPUs the process may be scheduled on (its affinity), not a container's
// CPU limit (a cgroup quota: docker --cpus, a Kubernetes limits.cpu), so a container limited to one CPU on
// a 32-core host would otherwise start 32 processes that share one CPU's time. The quota is read here from
// the cgroup files, v2 and v1.
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join, resolve } from 'node:path';

/** The cores this process may use: the CPUs it may run on, lowered to its cgroup CPU limit (rounded up). */
export function availableCores(): number {
  const limit = cgroupCpuLimit();
  return Math.max(1, Math.min(availableParallelism(), limit === null ? Infinity : Math.ceil(limit)));
}

/**
 * The CPU limit of this process's cgroup in cores (1.5 for a quota of 150 ms per 100 ms), the smallest along
 * its cgroup path; null when there is none or the files cannot be read (not Linux, no cgroup mounted).
 * `root` is the file system root the paths are read under (tests give a made-up tree).
 */
export function cgroupCpuLimit(root = '/'): number | null {
  let membership: string;
  try {
    membership = readFileSync(join(root, 'proc/self/cgroup'), 'utf8');
  } catch {
    return null;
  }
  const limits: number[] = [];
  for (const line of membership.split('\n')) {
    // hierarchy-id:controllers:path; v2 is "0::/path", a v1 line names its controllers ("4:cpu,cpuacct:/path").
    const m = /^(\d+):([^:]*):(.*)$/.exec(line.trim());
    if (!m) continue;
    const [, id, controllers, path] = m;
    if (id === '0' && controllers === '') {
      limits.push(...quotasAlong(join(root, 'sys/fs/cgroup'), path, (dir) => v2Limit(dir)));
    } else if (controllers.split(',').includes('cpu')) {
      // The mount is named after its controllers (cpu,cpuacct) with a `cpu` alias on most systems.
      const mount = [join(root, 'sys/fs/cgroup', controllers), join(root, 'sys/fs/cgroup/cpu')].find((d) => existsSync(d));
      if (mount) limits.push(...quotasAlong(mount, path, (dir) => v1Limit(dir)));
    }
  }
  return limits.length ? Math.min(...limits) : null;
}

/**
 * The limits found from the process's cgroup directory up to the mount. Inside a container the mount often
 * is the container's own cgroup while /proc/self/cgroup still names the host's path: then only the mount
 * itself exists to be read.
 */
function quotasAlong(mount: string, path: string, limitOf: (dir: string) => number | null): number[] {
  const found: number[] = [];
  const top = resolve(mount);
  let dir = resolve(top, `.${path}`);
  for (;;) {
    const limit = existsSync(dir) ? limitOf(dir) : null;
    if (limit !== null) found.push(limit);
    if (dir === top || !dir.startsWith(top)) break;
    dir = dirname(dir);
  }
  return found;
}

/** cgroup v2: cpu.max is "<quota> <period>" in microseconds, or "max <period>" for none. */
function v2Limit(dir: string): number | null {
  const text = readOr(join(dir, 'cpu.max'));
  const m = text && /^(\d+)\s+(\d+)/.exec(text.trim());
  return m && Number(m[2]) > 0 ? Number(m[1]) / Number(m[2]) : null;
}

/** cgroup v1: cpu.cfs_quota_us (-1 for none) over cpu.cfs_period_us. */
function v1Limit(dir: string): number | null {
  const quota = Number(readOr(join(dir, 'cpu.cfs_quota_us'))?.trim());
  const period = Number(readOr(join(dir, 'cpu.cfs_period_us'))?.trim());
  return quota > 0 && period > 0 ? quota / period : null;
}

function readOr(file: string): string | null {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}
