import { describe, expect, it } from 'vitest';
import { cgroupCpuQuota, usableCores, type CpuLimitSources } from './cpu-limit.js';
import { workerCount } from '../gateway/config.js';

/** A fake filesystem: path → content; everything else is absent. */
function fake(files: Record<string, string>, cpus = 16): CpuLimitSources {
  return { read: (p) => files[p], cgroupRoot: '/sys/fs/cgroup', cpus };
}

describe('usableCores', () => {
  it('caps the CPUs by a cgroup v2 quota in a container (its own cgroup namespace: path /)', () => {
    const s = fake({ '/proc/self/cgroup': '0::/\n', '/sys/fs/cgroup/cpu.max': '200000 100000\n' });
    expect(cgroupCpuQuota(s)).toBe(2);
    expect(usableCores(s)).toBe(2);
  });

  it('rounds a fractional quota down, but never below 1', () => {
    expect(usableCores(fake({ '/proc/self/cgroup': '0::/\n', '/sys/fs/cgroup/cpu.max': '350000 100000' }))).toBe(3);
    expect(usableCores(fake({ '/proc/self/cgroup': '0::/\n', '/sys/fs/cgroup/cpu.max': '50000 100000' }))).toBe(1);
  });

  it('takes no quota ("max") as no limit, and never raises the CPUs the process may run on', () => {
    expect(usableCores(fake({ '/proc/self/cgroup': '0::/\n', '/sys/fs/cgroup/cpu.max': 'max 100000' }))).toBe(16);
    expect(usableCores(fake({ '/proc/self/cgroup': '0::/\n', '/sys/fs/cgroup/cpu.max': '800000 100000' }, 4))).toBe(4);
  });

  it('counts the tightest quota between the process cgroup and the root', () => {
    const s = fake({
      '/proc/self/cgroup': '0::/kubepods/pod1/c1\n',
      '/sys/fs/cgroup/kubepods/pod1/c1/cgroup.procs': '1\n',
      '/sys/fs/cgroup/kubepods/pod1/c1/cpu.max': 'max 100000',
      '/sys/fs/cgroup/kubepods/pod1/cpu.max': '300000 100000',
      '/sys/fs/cgroup/kubepods/cpu.max': '1200000 100000',
    });
    expect(cgroupCpuQuota(s)).toBe(3);
  });

  it("reads the mount's root when the process's host path is not visible (no cgroup namespace)", () => {
    const s = fake({ '/proc/self/cgroup': '0::/docker/abc\n', '/sys/fs/cgroup/cpu.max': '150000 100000' });
    expect(usableCores(s)).toBe(1);
  });

  it('reads cgroup v1 quotas (cfs_quota_us of -1 is no limit)', () => {
    const v1 = (quota: string): CpuLimitSources =>
      fake({
        '/proc/self/cgroup': '12:memory:/\n4:cpu,cpuacct:/\n0::/\n',
        '/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us': `${quota}\n`,
        '/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us': '100000\n',
      });
    expect(usableCores(v1('200000'))).toBe(2);
    expect(usableCores(v1('-1'))).toBe(16);
    // the controller mounted on its own (`cpu`), as on this machine
    const own = fake({ '/proc/self/cgroup': '1:cpu:/\n', '/sys/fs/cgroup/cpu/cpu.cfs_quota_us': '400000', '/sys/fs/cgroup/cpu/cpu.cfs_period_us': '100000' });
    expect(usableCores(own)).toBe(4);
  });

  it('without cgroup files it is the CPUs the process may run on', () => {
    expect(usableCores(fake({}, 6))).toBe(6);
    expect(usableCores(fake({ '/proc/self/cgroup': 'garbage' }, 6))).toBe(6);
    expect(usableCores()).toBeGreaterThanOrEqual(1);
  });

  it("is what server.workers: auto starts", () => {
    expect(workerCount('auto', () => 3)).toBe(3);
    expect(workerCount(2, () => 64)).toBe(2);
  });
});
