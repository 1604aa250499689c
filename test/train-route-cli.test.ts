/** `switchyard train` and `switchyard route` end to end through the built CLI. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeDataset } from '../src/data/write.js';
import { syntheticDir, syntheticRows } from './helpers/synthetic.js';

const CLI = resolve('dist/src/cli/main.js');
const run = (args: string[], input?: string): { status: number | null; stdout: string; stderr: string } => {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', ...(input !== undefined ? { input } : {}) });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
};

describe('switchyard train / route', () => {
  const data = syntheticDir({ prompts: 240 });
  const dir = mkdtempSync(join(tmpdir(), 'sy-train-'));
  const artifact = join(dir, 'knn.json');

  it('trains a router to a versioned artifact and reports calibration and the operating curve', () => {
    const r = run(['train', '--data', data, '--router', 'knn', '--encoder', 'hashing:dim=256', '--out', artifact]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/trained knn:encoder=hashing:dim=256 on 180 prompts × 4 models/);
    expect(r.stdout).toMatch(/ECE [0-9.]+ raw → [0-9.]+ calibrated/);
    const a = JSON.parse(readFileSync(artifact, 'utf8'));
    expect(a).toMatchObject({ format: 'switchyard.router', version: 1, kind: 'knn', encoder: { id: 'hashing', dim: 256 } });
  });

  it('routes a prompt and explains why; λ = 1 picks a cheaper model than λ = 0; a budget resolves to λ', () => {
    const q = run(['route', '--router', artifact, '--lambda', '0', '--json', 'Question about integral prime equation matrix?']);
    const c = run(['route', '--router', artifact, '--lambda', '1', '--json', 'Question about integral prime equation matrix?']);
    expect(q.status, q.stderr).toBe(0);
    const dq = JSON.parse(q.stdout);
    const dc = JSON.parse(c.stdout);
    const cost = (d: { models: string[]; candidates: Array<{ model: string; cost: number }> }): number => d.candidates.find((x) => x.model === d.models[0])?.cost as number;
    expect(cost(dc)).toBeLessThan(cost(dq));
    expect(dq.reason).toMatch(/predicted quality/);
    const text = run(['route', '--router', artifact, '--budget', '0.000001', '-'], 'hello weather movie');
    expect(text.status, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^→ /);
    expect(text.stdout).toMatch(/predicted quality\s+predicted cost\s+utility/);
  });

  it('decides at the prices it is given (--prices), as the gateway does at its config\'s', () => {
    const prompt = 'Question about integral prime equation matrix?';
    const at = (args: string[]): { models: string[]; candidates: Array<{ model: string; cost: number }> } => {
      const r = run(['route', '--router', artifact, '--lambda', '0.5', '--json', ...args, prompt]);
      expect(r.status, r.stderr).toBe(0);
      return JSON.parse(r.stdout);
    };
    const trained = at([]);
    const prices = join(dir, 'prices.json');
    // the specialist this prompt goes to at ten times big-model's price
    writeFileSync(prices, JSON.stringify({ [trained.models[0] as string]: { inputPricePerMTok: 100, outputPricePerMTok: 300 } }));
    const repriced = at(['--prices', prices]);
    const cost = (d: typeof trained, m: string): number => d.candidates.find((x) => x.model === m)?.cost as number;
    expect(cost(repriced, trained.models[0] as string)).toBeGreaterThan(100 * cost(trained, trained.models[0] as string));
    expect(repriced.models[0]).not.toBe(trained.models[0]);
  });

  it('names bad flags and bad artifacts', () => {
    expect(run(['route', '--router', artifact, '--lambda', '2', 'x']).stderr).toMatch(/--lambda: expected a number in \[0, 1\]/);
    expect(run(['route', '--router', artifact, '--candidates', 'gpt-9', 'x']).stderr).toMatch(/\[unknown_model\].*gpt-9/);
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ format: 'switchyard.router', version: 1, kind: 'knn', models: [], config: {}, state: {} }));
    const r = run(['route', '--router', bad, 'x']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/\[artifact_invalid\]/);
    expect(run(['train', '--data', data, '--router', 'nope', '--out', artifact]).stderr).toMatch(/\[router_unknown\]/);
    // an output folder that does not exist yet is made; a path that cannot be a file is named, not a crash
    const nested = join(dir, 'new', 'folder', 'r.json');
    expect(run(['train', '--data', data, '--router', 'best-single', '--out', nested]).status).toBe(0);
    expect(JSON.parse(readFileSync(nested, 'utf8'))).toMatchObject({ kind: 'best-single' });
    const onDir = run(['train', '--data', data, '--router', 'best-single', '--out', dir]);
    expect(onDir.status).toBe(2);
    expect(onDir.stderr).toMatch(/--out: cannot write .*EISDIR/);
  });
});

describe('switchyard add-model', () => {
  it('adds a held-back model to a cross-attention router from a dataset, or from a labels file', () => {
    const full = syntheticRows({ prompts: 240, seed: 9 });
    const without = mkdtempSync(join(tmpdir(), 'sy-add-'));
    const fullDir = mkdtempSync(join(tmpdir(), 'sy-add-full-'));
    writeDataset(fullDir, full.meta, full.rows);
    writeDataset(
      without,
      { ...full.meta, models: full.meta.models.filter((m) => m.id !== 'small-2') },
      full.rows.map((r) => ({ ...r, outcomes: Object.fromEntries(Object.entries(r.outcomes).filter(([m]) => m !== 'small-2')) })),
    );
    const ca = join(without, 'ca.json');
    expect(run(['train', '--data', without, '--router', 'cross-attention:epochs=6', '--encoder', 'hashing:dim=256', '--out', ca]).status).toBe(0);
    const grown = join(without, 'ca-grown.json');
    const r = run(['add-model', '--router', ca, '--data', fullDir, '--model', 'small-2', '--out', grown]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/added small-2 from 50 labelled prompts/);
    // small-2 is the cheap specialist for code prompts
    const d = JSON.parse(run(['route', '--router', grown, '--lambda', '0.5', '--json', 'Question about python function compile bug array loop?']).stdout);
    expect(d.models).toEqual(['small-2']);

    const labels = join(without, 'labels.jsonl');
    writeFileSync(labels, '{"prompt": "a python bug", "score": 1}\n{"prompt": "a court appeal", "score": 0}\n{"prompt": "", "score": 2}\n');
    const bad = run(['add-model', '--router', ca, '--labels', labels, '--model', 'new', '--input-price', '1', '--output-price', '2', '--out', join(without, 'x.json')]);
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toMatch(/labels\.jsonl:3/);
    expect(run(['add-model', '--router', ca, '--labels', labels, '--model', 'new', '--out', join(without, 'x.json')]).stderr).toMatch(/--input-price is required/);
    writeFileSync(labels, '{"prompt": "a python bug", "score": 1}\n{"prompt": "a court appeal", "score": 0}\n');
    expect(run(['add-model', '--router', ca, '--labels', labels, '--model', 'new', '--input-price', '1', '--output-price', '2', '--out', join(without, 'x.json')]).status).toBe(0);
    expect(run(['add-model', '--router', artifactOf(without), '--data', fullDir, '--model', 'small-2', '--out', join(without, 'y.json')]).stderr).toMatch(/only a cross-attention router/);
  });
});

function artifactOf(dir: string): string {
  const file = join(dir, 'knn.json');
  run(['train', '--data', dir, '--router', 'knn', '--encoder', 'hashing:dim=256', '--out', file]);
  return file;
}

describe('switchyard train-scorer', () => {
  it('fits a response scorer on a dataset\'s train answers, and refuses a dataset without answers', () => {
    const { meta, rows } = syntheticRows({ prompts: 120, seed: 3 });
    const dir = mkdtempSync(join(tmpdir(), 'sy-scorer-'));
    writeDataset(dir, meta, rows, rows.flatMap((r) => Object.entries(r.outcomes).map(([model, o]) => ({ id: r.id, model, response: o.score >= 0.5 ? 'checked answer' : 'unsure' }))));
    const out = join(dir, 'scorer.json');
    const r = run(['train-scorer', '--data', dir, '--out', out]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/trained a response scorer on \d+ train answers/);
    expect(JSON.parse(readFileSync(out, 'utf8'))).toMatchObject({ format: 'switchyard.response-scorer', version: 1 });
    const bare = syntheticDir({ prompts: 60 });
    expect(run(['train-scorer', '--data', bare, '--out', join(dir, 'x.json')]).stderr).toMatch(/no responses\.jsonl\.gz/);
  });
});
