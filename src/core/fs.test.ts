import { existsSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeDir } from './fs.js';

describe('makeDir', () => {
  it('makes missing parents, accepts an existing folder, and fails (not hangs) where a folder cannot be made', () => {
    const base = mkdtempSync(join(tmpdir(), 'sy-fs-'));
    makeDir(join(base, 'a', 'b', 'c'));
    expect(statSync(join(base, 'a', 'b', 'c')).isDirectory()).toBe(true);
    makeDir(join(base, 'a', 'b'));
    writeFileSync(join(base, 'file'), 'x');
    expect(() => makeDir(join(base, 'file', 'sub'))).toThrow(/ENOTDIR|EEXIST/);
    if (existsSync('/proc/self')) expect(() => makeDir('/proc/switchyard-test/x')).toThrow(/ENOENT/);
  });
});
