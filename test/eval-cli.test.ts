/**
 * `switchyard eval` end to end, through the built CLI, on every shared dataset and on the raw
 * RouterBench CSVs; its reference figures are checked against an independent Python computation.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DATASETS, dataPath, hasData } from './helpers/data.js';
import { syntheticDir, syntheticRows } from './helpers/synthetic.js';

const CLI = resolve('dist/src/cli/main.js');
const hasPython = spawnSync('python3', ['--version']).status === 0;
if (!hasPython) console.warn('SKIP: python3 is absent, so the independent reference check cannot run');

function cli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function close(a: number, b: number): void {
  expect(Math.abs(a - b)).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(b)));
}

describe('switchyard eval', () => {
  it('is built (npm test builds first)', () => {
    expect(existsSync(CLI)).toBe(true);
  });

  const targets = [...DATASETS.map((d) => ({ label: d, path: dataPath(d), dataset: d })), { label: 'routerbench/raw (CSV import)', path: join(dataPath('routerbench'), 'raw'), dataset: 'routerbench' }];
  for (const t of targets) {
    it.skipIf(!hasData(t.dataset))(`runs on ${t.label} and matches the independent reference figures`, () => {
      const out = mkdtempSync(join(tmpdir(), 'sy-eval-'));
      const r = cli(['eval', '--data', t.path, '--out', out, '--bootstrap', '200']);
      expect(r.stderr).not.toMatch(/internal error/);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/mix hull/);
      const res = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
      for (const key of ['dataset', 'split', 'prompts', 'maxCost', 'reference', 'routers']) expect(res).toHaveProperty(key);
      expect(res.routers.map((x: { name: string }) => x.name)).toEqual(['best-single', 'cheapest', 'random']);
      for (const x of res.routers) {
        expect(x.points).toHaveLength(21);
        for (const key of ['hull', 'aiq', 'aiqDeltaCI', 'qualityAtBestSingleCost', 'costToMatchBestSingle']) expect(x).toHaveProperty(key);
        if (res.models.length === 2) for (const key of ['apgr', 'cpt50', 'cpt80']) expect(x).toHaveProperty(key);
      }
      const html = readFileSync(join(out, 'report.html'), 'utf8');
      expect(html).toMatch(/<svg/);
      expect(html).not.toMatch(/<script/);
      if (!hasPython) return;
      const py = spawnSync('python3', ['test/independent/reference.py', t.path], { encoding: 'utf8', maxBuffer: 64 << 20 });
      expect(py.status, py.stderr).toBe(0);
      const ref = JSON.parse(py.stdout);
      expect(res.prompts).toBe(ref.prompts);
      close(res.maxCost, ref.maxCost);
      close(res.reference.oracle.quality, ref.oracle.quality);
      close(res.reference.oracle.cost, ref.oracle.cost);
      for (const k of ['bestSingle', 'cheapest'] as const) {
        expect(res.reference[k].model).toBe(ref[k].model);
        close(res.reference[k].quality, ref[k].quality);
        close(res.reference[k].cost, ref[k].cost);
      }
      close(res.reference.mixHull.aiq, ref.mixHullAiq);
      // the best-single router is credited exactly the reference figures at every λ
      const bs = res.routers.find((x: { name: string }) => x.name === 'best-single');
      for (const p of bs.points) {
        close(p.quality, ref.bestSingle.quality);
        close(p.cost, ref.bestSingle.cost);
      }
    });
  }

  it('writes a report on synthetic data, with a sane interval and per-task rows', () => {
    const out = mkdtempSync(join(tmpdir(), 'sy-eval-'));
    const r = cli(['eval', '--data', syntheticDir({ prompts: 120 }), '--out', out, '--lambdas', '5', '--routers', 'fixed:model=small-1']);
    expect(r.status, r.stderr).toBe(0);
    const res = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
    expect(res.lambdas).toEqual([0, 0.25, 0.5, 0.75, 1]);
    expect(res.routers.map((x: { name: string }) => x.name)).toContain('fixed:model=small-1');
    const ci = res.routers[0].aiqDeltaCI;
    expect(ci.low).toBeLessThanOrEqual(ci.delta);
    expect(ci.high).toBeGreaterThanOrEqual(ci.delta);
    expect(res.tasks.map((t: { task: string }) => t.task).sort()).toEqual(['chat', 'code', 'law', 'math']);
    expect(r.stderr).toMatch(/progress: 20\/20/);
  });

  it('names the bad flag or input, with exit code 2 and no stack trace', () => {
    const bad = [
      { args: ['eval', '--out', '/tmp/x'], match: /--data is required/ },
      { args: ['eval', '--data', '/nonexistent', '--out', '/tmp/x'], match: /\[data_not_found\]/ },
      { args: ['eval', '--data', '.', '--out', '/tmp/x', '--lambdas', '1'], match: /--lambdas: expected an integer ≥ 2/ },
      { args: ['eval', '--data', '.', '--out', '/tmp/x', '--routers', 'nope'], match: /\[router_unknown\].*nope/ },
      { args: ['eval', '--data', '.', '--out', '/tmp/x', '--bogus'], match: /Unknown option '--bogus'/ },
      { args: ['data', 'import', '--from', 'xml', '--out', '/tmp/x', 'f'], match: /--from: expected "routerbench" or "long"/ },
      { args: ['frobnicate'], match: /unknown command "frobnicate"/ },
    ];
    for (const b of bad) {
      const r = cli(b.args);
      expect(r.status, b.args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(b.match);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
  });
});

describe('switchyard data', () => {
  it.skipIf(!hasData('routerbench'))('imports the RouterBench CSVs to a folder that eval and inspect read', () => {
    const out = mkdtempSync(join(tmpdir(), 'sy-imp-'));
    const r = cli(['data', 'import', '--from', 'routerbench', '--out', out, '--name', 'rb', join(dataPath('routerbench'), 'raw')]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/imported 3164 prompts × 11 models \(train 2217, test 947\)/);
    expect(r.stderr).toMatch(/warning: sample_id arc-challenge/);
    const i = cli(['data', 'inspect', out]);
    expect(i.status, i.stderr).toBe(0);
    expect(i.stdout).toMatch(/prompts\s+3164 \(train 2217, test 947\)/);
    expect(i.stdout).toMatch(/gpt-4-1106-preview .* 0\.880/);
    // the folder as the other commands take it
    expect(cli(['data', 'inspect', '--data', out]).stdout).toBe(i.stdout);
  });
});

describe('switchyard eval --online', () => {
  it('streams the test split through bandits and reports reward, regret, adaptation and the online section', () => {
    const out = mkdtempSync(join(tmpdir(), 'sy-online-'));
    const r = cli(['eval', '--online', '--data', syntheticDir({ prompts: 240 }), '--out', out, '--seeds', '2', '--online-lambdas', '0.3', '--bootstrap', '50', '--routers', 'knn:encoder=hashing:dim=256,linucb:encoder=hashing:dim=256;pca=8,ucb1']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/online \(reward = score − λ·cost/);
    expect(r.stdout).toMatch(/adaptation:/);
    const res = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
    expect(res.routers.map((x: { name: string }) => x.name)).toEqual(['best-single', 'cheapest', 'random', 'knn:encoder=hashing:dim=256']);
    expect(res.online.routers.map((x: { name: string }) => x.name)).toEqual(['linucb:encoder=hashing:dim=256;pca=8', 'ucb1']);
    expect(res.online.routers[0].seeds).toBe(2);
    expect(res.online.bestFixed[0].lambda).toBe(0.3);
    expect(readFileSync(join(out, 'report.html'), 'utf8')).toMatch(/Online learning \(bandits\)/);
    expect(cli(['eval', '--online', '--data', '.', '--out', out, '--online-lambdas', '2']).stderr).toMatch(/--online-lambdas: expected numbers in \[0, 1\]/);
  });

  it.skipIf(!hasData('routellm_mtbench'))('runs the default bandit line-up on real data (routellm_mtbench)', () => {
    const out = mkdtempSync(join(tmpdir(), 'sy-online-'));
    const r = spawnSync(process.execPath, [CLI, 'eval', '--online', '--data', dataPath('routellm_mtbench'), '--out', out, '--seeds', '2', '--bootstrap', '50'], {
      encoding: 'utf8',
      env: { ...process.env, SWITCHYARD_ENCODER: 'hashing:dim=128' },
    });
    expect(r.status, r.stderr).toBe(0);
    const res = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
    expect(res.online.routers.map((x: { name: string }) => x.name)).toEqual(expect.arrayContaining(['ucb1', 'thompson', 'epsilon-greedy', 'linucb:pca=32', 'linucb:pca=0', 'linucb:bootstrap=false']));
    expect(res.online.routers).toHaveLength(16);
    expect(res.online.adaptation[0].router).toBe('linucb:pca=32');
  });
});

describe('switchyard eval with soft routing', () => {
  it('credits a soft router twice, labelled: best-of-k bound and the response scorer\'s pick', () => {
    const dir = syntheticDir({ prompts: 240, seed: 5 });
    const { rows } = syntheticRows({ prompts: 240, seed: 5 });
    // answer texts that say whether they are right: a scorer trained on train answers should learn it
    const lines = rows.flatMap((r) => Object.entries(r.outcomes).map(([model, o]) => JSON.stringify({ id: r.id, model, response: o.score >= 0.5 ? `Here is the solution, checked twice. ${r.id}` : `I am not sure, maybe this. ${r.id}` })));
    writeFileSync(join(dir, 'responses.jsonl.gz'), gzipSync(lines.join('\n') + '\n'));
    const out = mkdtempSync(join(tmpdir(), 'sy-eval-soft-'));
    const spec = 'cross-attention:encoder=hashing:dim=256;epochs=4;soft=2';
    const r = cli(['eval', '--data', dir, '--out', out, '--bootstrap', '0', '--lambdas', '5', '--routers', spec]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/response scorer: fitted on \d+ train answers/);
    const res = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
    type Res = { name: string; points: Array<{ quality: number; cost: number }> };
    const bound = res.routers.find((x: Res) => x.name === `${spec} [best-of-k bound]`) as Res;
    const picks = res.routers.find((x: Res) => x.name === `${spec} [scorer picks]`) as Res;
    expect(bound && picks).toBeTruthy();
    bound.points.forEach((p, k) => {
      expect(picks.points[k]?.cost).toBeCloseTo(p.cost, 12); // the same calls are paid
      expect(picks.points[k]?.quality).toBeLessThanOrEqual(p.quality + 1e-12);
      expect(picks.points[k]?.quality).toBeGreaterThan(p.quality - 0.03); // the telling answers are found
    });
  });
});
