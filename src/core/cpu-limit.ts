/**
 * How many cores this process may really use: the CPUs it may run on (`os.availableParallelism()`,
 * the affinity mask) capped by a container's CPU quota (cgroup v2 `cpu.max`, or v1
 * `cpu.cfs_quota_us` / `cpu.cfs_period_us`), rounded down, at least 1. Node 20's libuv (1.46) reads
 * only the affinity mask, so a pod limited to 2 CPUs on a 64-core node would otherwise count 64.
 * Every cgroup from the process's own up to the root counts (a parent's quota caps its children).
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';

export interface CpuLimitSources {
  /** Reads a file, or returns undefined when it is absent or unreadable. */
  readonly read: (path: string) => string | undefined;
  /** Where the cgroup filesystems are mounted (default `/sys/fs/cgroup`). */
  readonly cgroupRoot: string;
  /** The CPUs the process may run on (default `os.availableParallelism()`). */
  readonly cpus: number;
}

function readOrUndefined(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

const defaults = (): CpuLimitSources => ({ read: readOrUndefined, cgroupRoot: '/sys/fs/cgroup', cpus: availableParallelism() });

/** `a/b/c` → [`a/b/c`, `a/b`, `a`, ``]: a cgroup and each of its parents, nearest first. */
function ancestry(path: string): string[] {
  const parts = path.split('/').filter((p) => p !== '');
  return Array.from({ length: parts.length + 1 }, (_, i) => parts.slice(0, parts.length - i).join('/'));
}

/** The smallest quota/period in the files of `dir` for `rel` and its parents; undefined when none is set. */
function smallestQuota(
  sources: CpuLimitSources,
  dir: string,
  rel: string,
  quotaOf: (cgroupDir: string) => number | undefined,
): number | undefined {
  let best: number | undefined;
  // A container without its own cgroup namespace sees the host's path, which its mount lacks: the
  // mount's root is then its own cgroup.
  const paths = sources.read(join(dir, rel, 'cgroup.procs')) !== undefined || rel === '' ? ancestry(rel) : [''];
  for (const p of paths) {
    const q = quotaOf(join(dir, p));
    if (q !== undefined && (best === undefined || q < best)) best = q;
  }
  return best;
}

function positive(n: number): number | undefined {
  return Number.isFinite(n) && n > 0 ? n : undefined;
}

/** The quota in CPUs from cgroup v2's `cpu.max` ("max 100000" = none, "200000 100000" = 2). */
function v2Quota(sources: CpuLimitSources, cgroupDir: string): number | undefined {
  const text = sources.read(join(cgroupDir, 'cpu.max'))?.trim();
  if (text === undefined) return undefined;
  const [quota, period] = text.split(/\s+/);
  if (quota === undefined || quota === 'max') return undefined;
  const q = positive(Number(quota));
  const p = positive(Number(period ?? '100000'));
  return q !== undefined && p !== undefined ? q / p : undefined;
}

/** The quota in CPUs from cgroup v1's `cpu.cfs_quota_us` (-1 = none) and `cpu.cfs_period_us`. */
function v1Quota(sources: CpuLimitSources, cgroupDir: string): number | undefined {
  const quota = sources.read(join(cgroupDir, 'cpu.cfs_quota_us'));
  const period = sources.read(join(cgroupDir, 'cpu.cfs_period_us'));
  if (quota === undefined || period === undefined) return undefined;
  const q = positive(Number(quota.trim()));
  const p = positive(Number(period.trim()));
  return q !== undefined && p !== undefined ? q / p : undefined;
}

/** The CPU quota in CPUs (fractional), or undefined when no cgroup sets one. */
export function cgroupCpuQuota(sources: CpuLimitSources = defaults()): number | undefined {
  const self = sources.read('/proc/self/cgroup');
  if (self === undefined) return undefined;
  let best: number | undefined;
  const take = (q: number | undefined): void => {
    if (q !== undefined && (best === undefined || q < best)) best = q;
  };
  for (const line of self.split('\n')) {
    // "hierarchy-id:controllers:path"; the path may itself hold ':'.
    const first = line.indexOf(':');
    const second = line.indexOf(':', first + 1);
    if (first < 0 || second < 0) continue;
    const controllers = line.slice(first + 1, second);
    const path = line.slice(second + 1).trim();
    if (line.slice(0, first) === '0' && controllers === '') {
      // cgroup v2: unified at the root (pure v2), or under `unified/` (hybrid, where it holds no cpu controller).
      take(smallestQuota(sources, sources.cgroupRoot, path, (d) => v2Quota(sources, d)));
    } else if (controllers.split(',').includes('cpu')) {
      for (const mount of [controllers, 'cpu', 'cpu,cpuacct']) {
        const dir = join(sources.cgroupRoot, mount);
        if (sources.read(join(dir, 'cpu.cfs_period_us')) === undefined) continue;
        take(smallestQuota(sources, dir, path, (d) => v1Quota(sources, d)));
        break;
      }
    }
  }
  return best;
}

/** The cores this process may use: the CPUs it may run on, capped by a cgroup CPU quota, ≥ 1. */
export function usableCores(sources: CpuLimitSources = defaults()): number {
  const quota = cgroupCpuQuota(sources);
  const cores = quota === undefined ? sources.cpus : Math.min(sources.cpus, Math.floor(quota));
  return Math.max(1, cores);
}
