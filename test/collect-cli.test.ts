/**
 * `switchyard data collect` through the built CLI: candidate models served by a replay-upstream
 * process (recorded answers and token counts of a synthetic dataset), a judge model that is a local
 * server speaking the OpenAI wire format (it rates an answer that states a result 9, a hedge 2), the
 * rows appended as they are graded, a second run that resumes, and the dataset it makes.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDataset } from '../src/data/load.js';
import { writeDataset } from '../src/data/write.js';
import { CLI, startCli, type Running } from './helpers/processes.js';
import { syntheticAnswers, syntheticRows } from './helpers/synthetic.js';

/** Runs the CLI without blocking this process (the judge server answers from here). */
const run = (args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> =>
  new Promise((resolve) => {
    const p = spawn(process.execPath, [CLI, ...args]);
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    p.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    p.on('close', (status) => resolve({ status, stdout, stderr }));
  });

describe('switchyard data collect', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sy-collect-'));
  const { meta, rows } = syntheticRows({ prompts: 40, seed: 31 });
  const answers = syntheticAnswers(rows, 31);
  writeDataset(dir, meta, rows, answers);
  const models = ['big-model', 'small-1', 'small-2'];
  const asked = rows.slice(0, 10);
  let upstream: Running;
  let judge: Server;
  let judged = 0;
  let pairwise = 0;
  let config = '';
  const prompts = join(dir, 'prompts.jsonl');

  beforeAll(async () => {
    upstream = await startCli(['replay-upstream', '--data', dir, '--port', '0']);
    judge = createServer((req, res) => {
      let raw = '';
      req.on('data', (c: Buffer) => (raw += c.toString()));
      req.on('end', () => {
        judged++;
        const body = JSON.parse(raw) as { messages: Array<{ content: string }> };
        const pair = /\[The Start of Assistant A's Answer\]\n([\s\S]*)\n\[The End of Assistant A's Answer\][\s\S]*\[The Start of Assistant B's Answer\]\n([\s\S]*)\n\[The End of Assistant B's Answer\]/.exec(body.messages[1]?.content ?? '');
        if (pair) {
          pairwise++;
          // prefers the answer that commits to a result; between two alike it favours the first position (a biased judge)
          const [a, b] = [pair[1]?.startsWith('The result is'), pair[2]?.startsWith('The result is')];
          const verdict = a === b ? 'A' : a ? 'A' : 'B';
          res.writeHead(200, { 'content-type': 'application/json' });
          return void res.end(JSON.stringify({ id: 'j', object: 'chat.completion', created: 1, model: 'judge', choices: [{ index: 0, message: { role: 'assistant', content: `Verdict: [[${verdict}]]` }, finish_reason: 'stop' }], usage: { prompt_tokens: 200, completion_tokens: 10, total_tokens: 210 } }));
        }
        const answer = /\[The Start of Assistant's Answer\]\n([\s\S]*)\n\[The End of Assistant's Answer\]/.exec(body.messages[1]?.content ?? '')?.[1] ?? '';
        const content = `The assistant ${answer.startsWith('The result is') ? 'commits to a result' : 'hedges'}. Rating: [[${answer.startsWith('The result is') ? 9 : 2}]]`;
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ id: 'j', object: 'chat.completion', created: 1, model: 'judge', choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }], usage: { prompt_tokens: 100, completion_tokens: 20, total_tokens: 120 } }));
      });
    });
    await new Promise<void>((r) => judge.listen(0, '127.0.0.1', r));
    const judgeURL = `http://127.0.0.1:${(judge.address() as AddressInfo).port}/v1`;
    const lines = meta.models.filter((m) => models.includes(m.id)).map((m) => `  ${m.id}: { baseURL: "${upstream.ready}", inputPricePerMTok: ${m.inputPricePerMTok}, outputPricePerMTok: ${m.outputPricePerMTok} }`);
    config = join(dir, 'sy.yaml');
    writeFileSync(config, `models:\n${lines.join('\n')}\n  judge: { baseURL: "${judgeURL}", inputPricePerMTok: 1, outputPricePerMTok: 2 }\n`);
    writeFileSync(prompts, asked.map((r) => JSON.stringify({ id: r.id, prompt: r.prompt, task: r.task })).join('\n') + '\n');
  }, 60_000);
  afterAll(async () => {
    await upstream.stop();
    judge.close();
  });

  it('asks every model every prompt, grades each answer with the judge, appends the rows and makes a dataset; a second run resumes', async () => {
    const out = join(dir, 'outcomes.jsonl');
    const dataset = join(dir, 'mine');
    const r = await run(['data', 'collect', '--config', config, '--prompts', prompts, '--out', out, '--judge', 'judge', '--models', models.join(','), '--dataset', dataset]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/collected 30 \(prompt, model\) pairs \(0 already in .*, 0 failed/);
    expect(r.stdout).toMatch(/judging \$0\.004200/); // 30 verdicts × (100 × $1 + 20 × $2) per M tokens
    const collected = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { id: string; model: string; score: number; response: string; input_tokens: number; output_tokens: number; cost_usd: number; task: string });
    expect(collected).toHaveLength(30);
    for (const c of collected) {
      const recorded = asked.find((x) => x.id === c.id)?.outcomes[c.model];
      const answer = answers.find((a) => a.id === c.id && a.model === c.model)?.response as string;
      expect(c.response).toBe(answer); // the model's (recorded) answer
      expect(c.score).toBeCloseTo(answer.startsWith('The result is') ? 8 / 9 : 1 / 9, 9); // the judge's rating, rescaled
      expect([c.input_tokens, c.output_tokens]).toEqual([recorded?.inputTokens, recorded?.outputTokens]);
      expect(c.cost_usd).toBeCloseTo(recorded?.costUsd as number, 12); // its usage at the configured prices
    }
    expect(judged).toBe(30);
    const m = loadDataset(dataset);
    expect(m.size).toBe(10);
    expect([...m.modelIds].sort()).toEqual([...models].sort());
    // the next run finds every pair done and calls nothing
    const again = await run(['data', 'collect', '--config', config, '--prompts', prompts, '--out', out, '--judge', 'judge', '--models', models.join(',')]);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/collected 0 \(prompt, model\) pairs \(30 already in/);
    expect(judged).toBe(30);
    // a run cut short (the last line half written, two rows missing) is completed by the next one
    const kept = readFileSync(out, 'utf8').trim().split('\n').slice(0, 27);
    writeFileSync(out, `${kept.join('\n')}\n{"id":"p9","mod`);
    const resumed = await run(['data', 'collect', '--config', config, '--prompts', prompts, '--out', out, '--judge', 'judge', '--models', models.join(',')]);
    expect(resumed.stdout).toMatch(/collected 3 \(prompt, model\) pairs \(27 already in/);
  }, 60_000);

  it('grades pairwise against a baseline model, both orders, so a judge biased to the first position is cancelled out', async () => {
    const out = join(dir, 'pairwise.jsonl');
    const r = await run(['data', 'collect', '--config', config, '--prompts', prompts, '--out', out, '--judge', 'judge', '--versus', 'small-1', '--models', 'big-model,small-2']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/graded by judge judge against small-1's answers \(pairwise\)/);
    expect(r.stdout).toMatch(/collected 30 \(prompt, model\) pairs/); // the baseline's rows too
    expect(pairwise).toBe(40); // 10 prompts × 2 candidates × 2 orders; the baseline is not judged
    const rows = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { id: string; model: string; score: number; response: string });
    const commits = (id: string, model: string): boolean => (answers.find((a) => a.id === id && a.model === model)?.response ?? '').startsWith('The result is');
    for (const row of rows) {
      if (row.model === 'small-1') {
        expect(row.score).toBe(0.5);
        continue;
      }
      const [mine, base] = [commits(row.id, row.model), commits(row.id, 'small-1')];
      expect(row.score, `${row.id} ${row.model}`).toBe(mine === base ? 0.5 : mine ? 1 : 0); // alike: A then B wins, a tie on average
    }
    expect(new Set(rows.filter((x) => x.model !== 'small-1').map((x) => x.score)).size).toBeGreaterThan(1);
    const bad = await run(['data', 'collect', '--config', config, '--prompts', prompts, '--out', join(dir, 'y.jsonl'), '--grader', 'exact', '--versus', 'small-1']);
    expect(bad.stderr).toMatch(/--versus goes with --judge MODEL/);
    // the same judgments imported with their length effect taken out: both rates reported (nothing is asked again)
    const controlled = await run(['data', 'collect', '--config', config, '--prompts', prompts, '--out', out, '--judge', 'judge', '--versus', 'small-1', '--models', 'big-model,small-2', '--dataset', join(dir, 'lc'), '--length-control']);
    expect(controlled.status, controlled.stderr).toBe(0);
    expect(controlled.stdout).toMatch(/length control against small-1 \(σ of length differences: \d+ characters\):\n {2}(big-model|small-2): win rate 0\.\d{3} → length-controlled 0\.\d{3} \(length effect [+-]\d+\.\d{2}, 10 judged\)/);
    expect(existsSync(join(dir, 'lc', 'dataset.json'))).toBe(true);
    const noDataset = await run(['data', 'collect', '--config', config, '--prompts', prompts, '--out', out, '--judge', 'judge', '--versus', 'small-1', '--length-control']);
    expect(noDataset.stderr).toMatch(/--length-control goes with --versus BASELINE and --dataset DIR/);
  }, 60_000);

  it('grades by exact match with a reference, and names what is wrong', async () => {
    const withRef = join(dir, 'ref.jsonl');
    writeFileSync(withRef, `${JSON.stringify({ id: 'q1', prompt: asked[0]?.prompt, reference: '42' })}\n`);
    const out = join(dir, 'exact.jsonl');
    const r = await run(['data', 'collect', '--config', config, '--prompts', withRef, '--out', out, '--grader', 'exact', '--models', 'small-1']);
    expect(r.status, r.stderr).toBe(0);
    const row = JSON.parse(readFileSync(out, 'utf8').trim()) as { score: number; response: string };
    expect(row.score).toBe(/(^|\D)42\.(\s|$)/.test(row.response) && row.response.startsWith('The result is') ? 1 : 0);
    const errors: Array<[string[], RegExp]> = [
      [['--grader', 'exact'], /--grader exact: 10 of 10 prompts have no "reference"/],
      [['--judge', 'gpt-9'], /--judge: "gpt-9" is not a model of the config/],
      [['--judge', 'judge', '--grader', 'exact'], /give one of --judge MODEL or --grader exact/],
      [['--judge', 'judge', '--models', 'small-1,gpt-9'], /--models: gpt-9 not in the config/],
    ];
    for (const [flags, message] of errors) {
      const bad = await run(['data', 'collect', '--config', config, '--prompts', prompts, '--out', join(dir, 'x.jsonl'), ...flags]);
      expect(bad.status).toBe(2);
      expect(bad.stderr).toMatch(message);
    }
    const badPrompts = join(dir, 'bad.jsonl');
    writeFileSync(badPrompts, '{"id": "a"}\nnot json\n');
    const bad = await run(['data', 'collect', '--config', config, '--prompts', badPrompts, '--out', join(dir, 'x.jsonl'), '--judge', 'judge']);
    expect(bad.stderr).toMatch(/bad\.jsonl:1: prompt: required: the prompt text/);
    expect(bad.stderr).toMatch(/bad\.jsonl:2: not JSON/);
  });
});
