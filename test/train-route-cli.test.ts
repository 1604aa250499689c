/** `switchyard train` and `switchyard route` end to end through the built CLI. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { syntheticDir } from './helpers/synthetic.js';

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

  it('names bad flags and bad artifacts', () => {
    expect(run(['route', '--router', artifact, '--lambda', '2', 'x']).stderr).toMatch(/--lambda: expected a number in \[0, 1\]/);
    expect(run(['route', '--router', artifact, '--candidates', 'gpt-9', 'x']).stderr).toMatch(/\[unknown_model\].*gpt-9/);
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ format: 'switchyard.router', version: 1, kind: 'knn', models: [], config: {}, state: {} }));
    const r = run(['route', '--router', bad, 'x']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/\[artifact_invalid\]/);
    expect(run(['train', '--data', data, '--router', 'nope', '--out', artifact]).stderr).toMatch(/\[router_unknown\]/);
  });
});
