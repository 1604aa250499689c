import { describe, expect, it } from 'vitest';
import { remember, trimOldest } from './lru.js';

describe('bounded maps', () => {
  it('keep the newest entries: a key set again becomes the newest, the oldest go beyond the bound', () => {
    const m = new Map<string, number>();
    for (const [k, v] of [['a', 1], ['b', 2], ['c', 3]] as const) remember(m, k, v, 3);
    remember(m, 'a', 10, 3); // a is the newest now
    remember(m, 'd', 4, 3); // b, the oldest, goes
    expect([...m.entries()]).toEqual([['c', 3], ['a', 10], ['d', 4]]);
    trimOldest(m, 1);
    expect([...m.keys()]).toEqual(['d']);
  });
});
