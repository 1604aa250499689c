import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dataPath, hasData } from '../../../test/helpers/data.js';
import { DataError } from '../../core/errors.js';
import { buildMatrix, loadDataset } from '../load.js';
import { writeDataset } from '../write.js';
import { importLongLog } from './long.js';
import { importRouterBench, splitFromFileName } from './routerbench.js';

function tmp(name: string, text: string): string {
  const d = mkdtempSync(join(tmpdir(), 'sy-imp-'));
  const f = join(d, name);
  writeFileSync(f, text);
  return f;
}

const WIDE_HEADER = ',sample_id,prompt,eval_name,m1,m2,m1|model_response,m2|model_response,m1|total_cost,m2|total_cost,oracle_model_to_route_to';

describe('RouterBench wide CSV import', () => {
  it('reads scores, costs, responses, python-list prompts and the split from the file name', () => {
    const f = tmp(
      'mini_test.csv',
      [WIDE_HEADER, `0,s1,"['What is 2+2?', 'And 3+3?']",math,1.0,0.0,['4'],"['5']",0.002,0.0001,m1`, `1,s2,['Hi'],chat,,1.0,,['hello'],,0.0002,m2`].join('\n'),
    );
    const r = importRouterBench([f]);
    expect(r.rows).toHaveLength(2);
    const [a, b] = r.rows;
    expect(a?.prompt).toBe('What is 2+2?\n\nAnd 3+3?');
    expect(a?.split).toBe('test');
    expect(a?.outcomes['m1']).toMatchObject({ score: 1, costUsd: 0.002 });
    expect(b?.outcomes['m1']).toBeUndefined();
    expect(r.responses).toContainEqual({ id: 's1', model: 'm2', response: '5' });
    expect(r.meta.models.map((m) => m.id)).toEqual(['m1', 'm2']);
    expect(r.meta.models[0]?.inputPricePerMTok).toBeGreaterThan(0);
  });

  it('names file, line and column of a bad cell', () => {
    const f = tmp('bad_train.csv', [WIDE_HEADER, `0,s1,['q'],t,1.7,0.0,,,0.1,-0.2,m1`, `1,s2,['q'],t,abc,0,,,0.1,0.1,m1`].join('\n'));
    try {
      importRouterBench([f]);
      throw new Error('expected an error');
    } catch (e) {
      expect(e).toBeInstanceOf(DataError);
      const msg = (e as DataError).message;
      expect(msg).toMatch(/bad_train\.csv:2: m1: score 1\.7 is outside 0\.\.1/);
      expect(msg).toMatch(/bad_train\.csv:2: m2\|total_cost: negative cost/);
      expect(msg).toMatch(/bad_train\.csv:3: m1: not a number/);
    }
  });

  it('splits by file name suffix', () => {
    expect(splitFromFileName('/x/arc_challenge_test.csv')).toBe('test');
    expect(splitFromFileName('mbpp_train.csv')).toBe('train');
    expect(splitFromFileName('all.csv')).toBeUndefined();
  });

  it.skipIf(!hasData('routerbench'))('imports the real routerbench/raw CSVs to the same outcomes as the shared matrix', () => {
    const imported = importRouterBench([join(dataPath('routerbench'), 'raw')]);
    const shared = loadDataset(dataPath('routerbench'));
    expect(imported.rows).toHaveLength(shared.size);
    expect(imported.warnings).toHaveLength(14); // the 14 split ARC sample_ids (see the dataset README)
    const mine = buildMatrix(imported.meta, imported.rows);
    let compared = 0;
    for (let i = 0; i < shared.size; i++) {
      const id = shared.cols.ids[i] as string;
      const j = mine.cols.ids.indexOf(id);
      expect(j, id).toBeGreaterThanOrEqual(0);
      expect(mine.cols.prompts[j]).toBe(shared.cols.prompts[i]);
      expect(mine.cols.splits[j]).toBe(shared.cols.splits[i]);
      for (const [m, model] of shared.modelIds.entries()) {
        const k = mine.modelIndex(model) as number;
        const a = shared.cols.scores[i * shared.modelCount + m] as number;
        const b = mine.cols.scores[j * mine.modelCount + k] as number;
        expect(Number.isNaN(a) ? 'absent' : a).toEqual(Number.isNaN(b) ? 'absent' : b);
        if (!Number.isNaN(a)) {
          expect(mine.cols.costs[j * mine.modelCount + k]).toBeCloseTo(shared.cols.costs[i * shared.modelCount + m] as number, 12);
          compared++;
        }
      }
    }
    expect(compared).toBe(34790);
  });
});

describe('long-layout (production log) import', () => {
  it('groups rows by prompt, prices tokens, splits by task with a seed, and writes a loadable dataset', () => {
    const lines = [];
    for (let i = 0; i < 20; i++) {
      for (const model of ['x', 'y']) {
        lines.push(JSON.stringify({ prompt_id: `q${i}`, prompt: `question ${i}`, model, score: (i + (model === 'x' ? 1 : 0)) % 2, task: i % 2 ? 'odd' : 'even', input_tokens: 10, output_tokens: 5, response: `answer ${i}` }));
      }
    }
    const f = tmp('log.jsonl', lines.join('\n'));
    const prices = { x: { inputPricePerMTok: 1, outputPricePerMTok: 2 }, y: { inputPricePerMTok: 0.1, outputPricePerMTok: 0.1 } };
    const r = importLongLog([f], { prices, seed: 1 });
    expect(r.rows).toHaveLength(20);
    expect(r.rows[0]?.outcomes['x']?.costUsd).toBeCloseTo((10 * 1 + 5 * 2) / 1e6, 15);
    expect(r.rows.filter((x) => x.split === 'test')).toHaveLength(6);
    const again = importLongLog([f], { prices, seed: 1 });
    expect(again.rows.map((x) => x.split)).toEqual(r.rows.map((x) => x.split));
    const out = mkdtempSync(join(tmpdir(), 'sy-out-'));
    writeDataset(out, r.meta, r.rows, r.responses);
    expect(loadDataset(out).size).toBe(20);
    expect(JSON.parse(readFileSync(join(out, 'dataset.json'), 'utf8')).splits).toEqual({ train: 14, test: 6 });
  });

  it('reads CSV logs with a cost column', () => {
    const f = tmp('log.csv', 'prompt,model,score,cost_usd,split\n"a, b",m,1,0.5,test\n"a, b",n,0,0.1,test\nc,m,0,0.5,train\n');
    const r = importLongLog([f]);
    expect(r.rows).toHaveLength(2);
    expect(r.rows[0]?.outcomes['n']).toMatchObject({ score: 0, costUsd: 0.1 });
  });

  it('names the line and field of a bad row, and asks for prices when cost is missing', () => {
    const f = tmp('bad.jsonl', [JSON.stringify({ prompt: 'p', model: 'm', score: 2, cost: 1 }), JSON.stringify({ prompt: 'p', model: 'm', score: 1 }), JSON.stringify({ model: 'm', score: 1, cost: 1 })].join('\n'));
    try {
      importLongLog([f]);
      throw new Error('expected an error');
    } catch (e) {
      const msg = (e as Error).message;
      expect(msg).toMatch(/bad\.jsonl:1: score:/);
      expect(msg).toMatch(/bad\.jsonl:2: cost: missing, and the price table has no entry for model "m"/);
      expect(msg).toMatch(/bad\.jsonl:3: prompt: required/);
    }
  });
});
