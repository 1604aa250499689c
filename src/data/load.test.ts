import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { syntheticDir } from '../../test/helpers/synthetic.js';
import { DataError } from '../core/errors.js';
import { loadDataset } from './load.js';

const META = { name: 'tiny', models: [{ id: 'a', inputPricePerMTok: 1, outputPricePerMTok: 2 }, { id: 'b', inputPricePerMTok: 0.1, outputPricePerMTok: 0.2 }] };
const GOOD = { id: 'p1', prompt: 'hi', task: 't', split: 'train', outcomes: { a: { score: 1, costUsd: 0.01 }, b: { score: 0, costUsd: 0.001 } } };

function dir(meta: unknown, lines: unknown[]): string {
  const d = mkdtempSync(join(tmpdir(), 'sy-load-'));
  writeFileSync(join(d, 'dataset.json'), JSON.stringify(meta));
  writeFileSync(join(d, 'matrix.jsonl'), lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n'));
  return d;
}

function problems(d: string): string {
  try {
    loadDataset(d);
  } catch (e) {
    expect(e).toBeInstanceOf(DataError);
    return (e as DataError).message;
  }
  throw new Error('expected a DataError');
}

describe('loadDataset', () => {
  it('loads a written dataset with its splits and NaN for absent outcomes', () => {
    const d = dir(META, [GOOD, { ...GOOD, id: 'p2', split: 'test', outcomes: { a: { score: 0.5, costUsd: 0.02 } } }]);
    const m = loadDataset(d);
    expect(m.size).toBe(2);
    expect(m.view('train').size).toBe(1);
    const test = m.view('test');
    expect(test.score(0, 0)).toBe(0.5);
    expect(Number.isNaN(test.score(0, 1))).toBe(true);
    expect(test.available(0)).toEqual(['a']);
  });

  it('round-trips a synthetic dataset', () => {
    const m = loadDataset(syntheticDir({ prompts: 40 }));
    expect(m.size).toBe(40);
    expect(m.modelIds[0]).toBe('big-model');
  });

  it('names file, line and field for a score outside 0..1', () => {
    const d = dir(META, [GOOD, { ...GOOD, id: 'p2', outcomes: { a: { score: 1.5, costUsd: 0 } } }]);
    expect(problems(d)).toMatch(/matrix\.jsonl:2: outcomes\.a\.score: .*1/);
  });

  it('names a negative cost, an unknown split, an unknown model, bad JSON and duplicate ids', () => {
    const d = dir(META, [
      GOOD,
      { ...GOOD, id: 'p2', outcomes: { a: { score: 1, costUsd: -1 } } },
      { ...GOOD, id: 'p3', split: 'validation' },
      { ...GOOD, id: 'p4', outcomes: { zzz: { score: 1, costUsd: 0 } } },
      '{not json',
      GOOD,
    ]);
    const msg = problems(d);
    expect(msg).toMatch(/matrix\.jsonl:2: outcomes\.a\.costUsd:/);
    expect(msg).toMatch(/matrix\.jsonl:3: split:/);
    expect(msg).toMatch(/matrix\.jsonl:4: outcomes\.zzz: model "zzz" is not in dataset\.json models/);
    expect(msg).toMatch(/matrix\.jsonl:5: invalid JSON/);
    expect(msg).toMatch(/matrix\.jsonl:6: id: duplicate prompt id "p1"/);
  });

  it('rejects a dataset.json without models, and a missing folder, with stable codes', () => {
    expect(problems(dir({ name: 'x', models: [] }, [GOOD]))).toMatch(/dataset\.json: models:/);
    expect(() => loadDataset('/nonexistent/folder')).toThrow(expect.objectContaining({ code: 'data_not_found' }));
  });
});
