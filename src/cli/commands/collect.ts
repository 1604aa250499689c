import { invalidArgument } from '../../core/errors.js';
import { createRng } from '../../core/random.js';
import { collect, readPromptItems } from '../../data/collect/collect.js';
import { exactGrader, judgeGrader, pairwiseGrader, type Grader } from '../../data/collect/graders.js';
import { importLongLog } from '../../data/import/long.js';
import { lengthControl } from '../../data/collect/length-control.js';
import { writeDataset } from '../../data/write.js';
import { readGatewayConfig } from '../../gateway/config.js';
import { modelPosts } from '../../gateway/providers/model-posts.js';
import { undiciPost } from '../../gateway/providers/openai-compatible.js';
import { costOf } from '../../gateway/usage-cost.js';
import { numberFlag, parse, prepareOutput, requireString } from '../args.js';

export const COLLECT_USAGE = `usage: switchyard data collect --config switchyard.yaml --prompts prompts.jsonl --out outcomes.jsonl
                               (--judge MODEL [--versus BASELINE] | --grader exact) [--models a,b,c] [--concurrency N]
                               [--max-tokens N] [--temperature T] [--dataset DIR [--test-fraction F] [--seed N] [--length-control]]

Sends every prompt to every model (the config's providers, keys and prices; its retries), grades each
answer, and appends one row per (prompt, model) to --out as it goes; run it again to resume.
  --prompts FILE   JSONL: {"prompt": "...", "id"?, "task"?, "split"?, "reference"?} per line
  --judge MODEL    a configured model rates each answer 1-10 (MT-Bench single-answer grading;
                   reference-guided when the prompt has a reference); score = (rating - 1) / 9
  --versus MODEL   with --judge: pairwise instead — each answer against MODEL's answer to the same
                   prompt, judged twice with the answers swapped; score = win rate (win 1, tie 0.5),
                   the baseline itself 0.5 (MT-Bench's pairwise prompt; AlpacaEval-style scores)
  --grader exact   score 1 when the answer gives the prompt's reference (a letter, a number, a text), else 0
  --models         the candidates (default: every configured model but the judge)
  --dataset DIR    then import the rows into a routing-matrix folder (as data import --from long)
  --length-control with --versus and --dataset: each model's win rates with its fitted length effect
                   taken out (AlpacaEval's length-controlled win rate: a judge's taste for long
                   answers does not teach the router to pay for verbose models); reports both rates`;

export async function runCollect(argv: string[]): Promise<void> {
  const { values } = parse(
    argv,
    {
      config: { type: 'string' }, prompts: { type: 'string' }, out: { type: 'string' }, judge: { type: 'string' }, versus: { type: 'string' }, grader: { type: 'string' }, models: { type: 'string' },
      concurrency: { type: 'string' }, 'max-tokens': { type: 'string' }, temperature: { type: 'string' }, dataset: { type: 'string' }, 'test-fraction': { type: 'string' }, seed: { type: 'string' },
      'length-control': { type: 'boolean' },
    },
    COLLECT_USAGE,
  );
  const config = readGatewayConfig(requireString(values, 'config', COLLECT_USAGE));
  const items = readPromptItems(requireString(values, 'prompts', COLLECT_USAGE));
  const out = requireString(values, 'out', COLLECT_USAGE);
  prepareOutput('out', out);
  const judge = typeof values['judge'] === 'string' ? values['judge'] : undefined;
  const graderName = values['grader'];
  if ((judge === undefined) === (graderName === undefined)) throw invalidArgument(`data collect: give one of --judge MODEL or --grader exact\n\n${COLLECT_USAGE}`);
  if (graderName !== undefined && graderName !== 'exact') throw invalidArgument(`--grader: expected "exact", got ${JSON.stringify(graderName)} (or use --judge MODEL)`);
  if (judge !== undefined && !(judge in config.models)) throw invalidArgument(`--judge: "${judge}" is not a model of the config (${Object.keys(config.models).join(', ')})`);
  const versus = typeof values['versus'] === 'string' ? values['versus'] : undefined;
  if (versus !== undefined && judge === undefined) throw invalidArgument('--versus goes with --judge MODEL (the judge compares each answer with the baseline\'s)');
  if (versus !== undefined && !(versus in config.models)) throw invalidArgument(`--versus: "${versus}" is not a model of the config (${Object.keys(config.models).join(', ')})`);
  if (values['length-control'] && (versus === undefined || values['dataset'] === undefined)) throw invalidArgument('--length-control goes with --versus BASELINE and --dataset DIR (it corrects pairwise win rates as they are imported)');
  const listed = typeof values['models'] === 'string' ? values['models'].split(',').map((m) => m.trim()).filter(Boolean) : Object.keys(config.models).filter((m) => m !== judge);
  const models = versus !== undefined && !listed.includes(versus) ? [versus, ...listed] : listed; // the baseline's answers are collected too
  const unknown = models.filter((m) => !(m in config.models));
  if (unknown.length > 0) throw invalidArgument(`--models: ${unknown.join(', ')} not in the config (${Object.keys(config.models).join(', ')})`);
  if (models.length === 0) throw invalidArgument('--models: no candidate models');
  if (graderName === 'exact') {
    const without = items.filter((i) => i.reference === undefined).length;
    if (without > 0) throw invalidArgument(`--grader exact: ${without} of ${items.length} prompts have no "reference" to compare with (use --judge MODEL for those)`);
  }
  const concurrency = numberFlag(values, 'concurrency', 4, (v) => Number.isInteger(v) && v >= 1 && v <= 256, 'an integer from 1 to 256');
  const maxTokens = values['max-tokens'] === undefined ? undefined : numberFlag(values, 'max-tokens', 0, (v) => Number.isInteger(v) && v > 0, 'a positive integer');
  const temperature = values['temperature'] === undefined ? undefined : numberFlag(values, 'temperature', 0, (v) => v >= 0 && v <= 2, 'a number from 0 to 2');

  const base = undiciPost(config.timeouts.connectMs);
  const posts = await modelPosts(config.models, base, Date.now);
  const deps = {
    post: (id: string) => posts.get(id) ?? base,
    env: process.env,
    cost: costOf,
    retry: { maxRetries: config.retries, rng: createRng(0), now: Date.now, sleep: (ms: number) => new Promise<void>((r) => setTimeout(r, ms)) },
  };
  const timeouts = { firstByteMs: config.timeouts.firstByteMs, totalMs: config.timeouts.totalMs };
  const grade: Grader = judge === undefined ? exactGrader : versus !== undefined ? pairwiseGrader(judge, versus, config.models, timeouts, deps) : judgeGrader(judge, config.models, timeouts, deps);
  const request = { ...(maxTokens !== undefined ? { max_tokens: maxTokens } : {}), ...(temperature !== undefined ? { temperature } : {}) };
  const log = (line: string): void => void process.stderr.write(`${line}\n`);
  log(`collecting ${items.length} prompts × ${models.length} models (${models.join(', ')}), graded by ${judge ? `judge ${judge}${versus ? ` against ${versus}'s answers (pairwise)` : ''}` : 'exact match'}, into ${out}`);
  const report = await collect({ items, models, configs: config.models, grade, out, concurrency, timeouts, deps, log, request, ...(versus ? { baseline: versus } : {}) });
  for (const f of report.failed.slice(0, 10)) log(`warning: ${f.id} × ${f.model}: ${f.why}`);
  if (report.failed.length > 10) log(`warning: … and ${report.failed.length - 10} more pairs without a row`);
  process.stdout.write(
    `collected ${report.collected} (prompt, model) pairs (${report.skipped} already in ${out}, ${report.failed.length} failed: run again to retry them); ` +
      `answers cost $${report.answerCostUsd.toFixed(6)}${judge ? `, judging $${report.gradeCostUsd.toFixed(6)}` : ''}\n`,
  );
  const dataset = values['dataset'];
  if (typeof dataset === 'string') {
    const testFraction = numberFlag(values, 'test-fraction', 0.3, (v) => v > 0 && v < 1, 'a number between 0 and 1');
    const seed = numberFlag(values, 'seed', 42, Number.isInteger, 'an integer');
    const result = importLongLog([out], { testFraction, seed });
    for (const w of result.warnings) log(`warning: ${w}`);
    let rows = result.rows;
    if (values['length-control'] && versus !== undefined) {
      const answers = new Map<string, Map<string, string>>();
      for (const r of result.responses) answers.set(r.id, (answers.get(r.id) ?? new Map<string, string>()).set(r.model, r.response));
      const controlled = lengthControl(rows, answers, versus);
      rows = controlled.rows;
      process.stdout.write(`length control against ${versus} (σ of length differences: ${controlled.report.sigma.toFixed(0)} characters):\n`);
      for (const m of controlled.report.models) process.stdout.write(`  ${m.model}: win rate ${m.winRate.toFixed(3)} → length-controlled ${m.lcWinRate.toFixed(3)} (length effect ${m.lengthEffect >= 0 ? '+' : ''}${m.lengthEffect.toFixed(2)}, ${m.judged} judged)\n`);
    }
    writeDataset(dataset, result.meta, rows, result.responses);
    process.stdout.write(`wrote ${result.rows.length} prompts × ${result.meta.models.length} models into ${dataset}\n`);
  }
}
