import { describe, expect, it } from 'vitest';
import { requestIds } from './request-id.js';

describe('request ids', () => {
  it('are unique and sort by time, then by issue order within a millisecond', () => {
    let now = 1_795_000_000_000;
    const next = requestIds(() => now);
    const ids: string[] = [];
    for (let k = 0; k < 3000; k++) {
      if (k % 1000 === 999) now += 1;
      ids.push(next());
    }
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.every((id) => /^req_[0-9a-f]{32}$/.test(id))).toBe(true);
    expect([...ids].sort()).toEqual(ids);
  });
});
