import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MetricsGatherings, type Gathered } from './metrics-gathering.js';

describe('MetricsGatherings (the supervisor summing its workers for one scrape)', () => {
  let answered: Gathered<string>[];
  let g: MetricsGatherings<string>;
  const asked: Array<[number, number]> = [];
  beforeEach(() => {
    vi.useFakeTimers();
    answered = [];
    asked.length = 0;
    g = new MetricsGatherings<string>(2500, (x) => answered.push(x));
  });
  afterEach(() => vi.useRealTimers());

  it('answers once every asked worker has sent its metrics, each counted once', () => {
    g.start('w1', 7, [1, 2], (w, id) => asked.push([w, id]));
    expect(asked.map(([w]) => w)).toEqual([1, 2]);
    const id = asked[0]![1];
    g.collected(1, id, { a: 1 });
    g.collected(1, id, { a: 1 }); // twice: still waiting for 2
    expect(answered).toEqual([]);
    g.collected(2, id, { b: 2 });
    expect(answered).toEqual([{ asker: 'w1', askerId: 7, got: [{ a: 1 }, { b: 2 }] }]);
    g.collected(2, id, { b: 2 }); // late: ignored
    expect(answered).toHaveLength(1);
  });

  it('a worker that dies while asked is not waited for', () => {
    g.start('w1', 1, [1, 2, 3], (w, id) => asked.push([w, id]));
    const id = asked[0]![1];
    g.collected(1, id, { a: 1 });
    g.gone(2);
    expect(answered).toEqual([]);
    g.gone(3);
    expect(answered).toEqual([{ asker: 'w1', askerId: 1, got: [{ a: 1 }] }]);
    vi.advanceTimersByTime(5000);
    expect(answered).toHaveLength(1);
  });

  it('a worker that does not answer is left out after the wait', () => {
    g.start('w2', 3, [1, 2], (w, id) => asked.push([w, id]));
    g.collected(2, asked[0]![1], { b: 2 });
    vi.advanceTimersByTime(2499);
    expect(answered).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(answered).toEqual([{ asker: 'w2', askerId: 3, got: [{ b: 2 }] }]);
  });

  it('keeps scrapes apart, answers one with nobody to ask at once, and drops all on clear', () => {
    g.start('a', 1, [1], (w, id) => asked.push([w, id]));
    g.start('b', 2, [1], (w, id) => asked.push([w, id]));
    expect(asked[0]![1]).not.toBe(asked[1]![1]);
    g.collected(1, asked[1]![1], { x: 1 });
    expect(answered.map((x) => x.asker)).toEqual(['b']);
    g.start('c', 3, [], () => undefined);
    expect(answered.map((x) => x.asker)).toEqual(['b', 'c']);
    g.clear();
    vi.advanceTimersByTime(5000);
    expect(answered.map((x) => x.asker)).toEqual(['b', 'c']);
  });
});
