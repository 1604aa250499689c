/** File-system helpers. */
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/**
 * `mkdir -p`: creates `dir` and its missing parents, one level at a time from the nearest existing
 * ancestor. (Node's `mkdirSync(dir, { recursive: true })` spins forever under a pseudo file system
 * such as /proc, where mkdir keeps answering ENOENT; this fails with that error instead.)
 */
export function makeDir(dir: string): void {
  const missing: string[] = [];
  for (let d = resolve(dir); !existsSync(d); d = dirname(d)) {
    missing.push(d);
    if (dirname(d) === d) break;
  }
  for (const d of missing.reverse()) {
    try {
      mkdirSync(d);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e; // made meanwhile by another process: fine
    }
  }
}
