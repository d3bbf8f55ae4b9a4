// The cores a process may use, which API_PROCESSES defaults to: a container's cgroup CPU limit counts (Node
// 20's os.availableParallelism() does not see it), read from made-up cgroup v2 and v1 trees; and the setting
// itself, a bounded integer.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { availableCores, cgroupCpuLimit } from '../../../runtime/available-cores.js';
import { loadConfig } from '../../../runtime/config.js';

/** A file system root holding `files` (path → content). */
function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'mlp-cgroup-'));
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
  }
  return root;
}

describe('the CPU limit of this process\'s cgroup', () => {
  it('cgroup v2: the quota over the period, the smallest along the path', () => {
    expect(cgroupCpuLimit(tree({ 'proc/self/cgroup': '0::/\n', 'sys/fs/cgroup/cpu.max': '150000 100000\n' }))).toBe(1.5);
    expect(cgroupCpuLimit(tree({
      'proc/self/cgroup': '0::/kubepods/pod1/ctr\n',
      'sys/fs/cgroup/kubepods/cpu.max': '800000 100000\n',
      'sys/fs/cgroup/kubepods/pod1/cpu.max': '200000 100000\n',
      'sys/fs/cgroup/kubepods/pod1/ctr/cpu.max': 'max 100000\n',
    }))).toBe(2);
  });

  it('cgroup v2 without a limit, or no cgroup at all: none', () => {
    expect(cgroupCpuLimit(tree({ 'proc/self/cgroup': '0::/\n', 'sys/fs/cgroup/cpu.max': 'max 100000\n' }))).toBeNull();
    expect(cgroupCpuLimit(tree({}))).toBeNull();
  });

  it('cgroup v1: cfs quota over period on the cpu controller\'s mount; -1 is no limit', () => {
    expect(cgroupCpuLimit(tree({
      'proc/self/cgroup': '4:memory:/x\n3:cpu,cpuacct:/\n',
      'sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us': '100000\n', 'sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us': '100000\n',
    }))).toBe(1);
    expect(cgroupCpuLimit(tree({
      'proc/self/cgroup': '3:cpu,cpuacct:/\n',
      'sys/fs/cgroup/cpu/cpu.cfs_quota_us': '-1\n', 'sys/fs/cgroup/cpu/cpu.cfs_period_us': '100000\n',
    }))).toBeNull();
  });

  it('inside a container whose /proc/self/cgroup names the host\'s path, reads the mount (the container\'s own cgroup)', () => {
    expect(cgroupCpuLimit(tree({
      'proc/self/cgroup': '3:cpu,cpuacct:/docker/0123abcd\n',
      'sys/fs/cgroup/cpu/cpu.cfs_quota_us': '250000\n', 'sys/fs/cgroup/cpu/cpu.cfs_period_us': '100000\n',
    }))).toBe(2.5);
  });

  it('the cores available are at least one and at most the CPUs this process may run on', () => {
    const cores = availableCores();
    expect(cores).toBeGreaterThanOrEqual(1);
    expect(cores).toBeLessThanOrEqual(availableParallelism());
  });
});

describe('API_PROCESSES', () => {
  it('defaults to the cores available; takes 1 to 64', () => {
    expect(loadConfig({}).apiProcesses).toBe(Math.min(64, availableCores()));
    expect(loadConfig({ API_PROCESSES: '' }).apiProcesses).toBe(Math.min(64, availableCores()));
    expect(loadConfig({ API_PROCESSES: '1' }).apiProcesses).toBe(1);
    expect(loadConfig({ API_PROCESSES: '64' }).apiProcesses).toBe(64);
    for (const bad of ['0', '65', '1.5', 'all']) expect(() => loadConfig({ API_PROCESSES: bad }), bad).toThrow(/API_PROCESSES/);
  });
});
