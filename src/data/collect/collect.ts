/**
 * `switchyard data collect`: builds a routing-matrix dataset from your own prompts. Every prompt is
 * sent to every candidate model (the gateway's providers, with its retries), each answer is graded
 * (graders.ts: an LLM judge, or exact match with a reference), and one long-format row per (prompt,
 * model) is appended to the output as soon as it is graded — prompt, model, score, answer, tokens and
 * the cost its usage implies at the configured prices. A run that stops (crash, Ctrl-C, a provider
 * down) loses nothing: the next run skips the pairs already in the file. `data import --from long`
 * (or `--dataset`) then makes the folder `eval` and `train` read. See docs/data-format.md, "Your own
 * traffic".
 */
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { z } from 'zod';
import { DataError } from '../../core/errors.js';
import { hashString } from '../../core/random.js';
import type { ModelConfig } from '../../gateway/config.js';
import { propose, type Proposal, type ProposalDeps } from '../../gateway/mixture.js';
import type { UpstreamTimeouts } from '../../gateway/providers/openai-compatible.js';
import { formatZodIssues } from '../responses.js';
import type { GradeContext, Grader } from './graders.js';

const PromptItemSchema = z
  .object({
    prompt: z.string({ error: 'required: the prompt text' }).min(1, 'required: the prompt text'),
    id: z.union([z.string().min(1), z.number()]).optional(),
    prompt_id: z.union([z.string().min(1), z.number()]).optional(),
    task: z.string().optional(),
    split: z.enum(['train', 'test']).optional(),
    reference: z.union([z.string(), z.number()]).optional(),
  })
  .loose();

export interface PromptItem {
  readonly id: string;
  readonly prompt: string;
  readonly task?: string | undefined;
  readonly split?: 'train' | 'test' | undefined;
  readonly reference?: string | undefined;
}

/** The prompts of a JSONL file (`prompt`, optional `id`, `task`, `split`, `reference`); one item per id. */
export function readPromptItems(file: string): PromptItem[] {
  if (!existsSync(file)) throw new DataError([`${file}: not found`], 'data_not_found');
  const issues: string[] = [];
  const byId = new Map<string, PromptItem>();
  readFileSync(file, 'utf8')
    .split('\n')
    .forEach((line, k) => {
      if (line.trim() === '') return;
      const where = `${file}:${k + 1}`;
      let raw: unknown;
      try {
        raw = JSON.parse(line);
      } catch (e) {
        issues.push(`${where}: not JSON (${(e as Error).message})`);
        return;
      }
      const r = PromptItemSchema.safeParse(raw);
      if (!r.success) return void issues.push(...formatZodIssues(where, r.error));
      const v = r.data;
      const id = String(v.id ?? v.prompt_id ?? `p-${hashString(v.prompt).toString(16).padStart(8, '0')}`);
      if (!byId.has(id)) byId.set(id, { id, prompt: v.prompt, task: v.task, split: v.split, reference: v.reference === undefined ? undefined : String(v.reference) });
    });
  if (issues.length > 0) throw new DataError(issues);
  if (byId.size === 0) throw new DataError([`${file}: no prompts`]);
  return [...byId.values()];
}

/** One collected outcome, in the long layout `data import --from long` reads. */
export interface CollectedRow {
  readonly id: string;
  readonly prompt: string;
  readonly task?: string;
  readonly split?: 'train' | 'test';
  readonly model: string;
  readonly score: number;
  readonly response: string;
  readonly input_tokens: number;
  readonly output_tokens: number;
  readonly cost_usd: number;
}

/** The (prompt id, model) pairs already in an output file (a run resumes after them), and the answers of `keep`'s model by prompt id. */
export function collectedPairs(file: string, keep?: string): { done: Set<string>; kept: Map<string, string> } {
  const done = new Set<string>();
  const kept = new Map<string, string>();
  if (!existsSync(file)) return { done, kept };
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    try {
      const r = JSON.parse(line) as { id?: unknown; model?: unknown; response?: unknown };
      if (typeof r.id === 'string' && typeof r.model === 'string') done.add(`${r.id}\u0000${r.model}`);
      if (r.model === keep && typeof r.id === 'string' && typeof r.response === 'string') kept.set(r.id, r.response);
    } catch {
      // a line cut by a crash: that pair is collected again
    }
  }
  return { done, kept };
}

export interface CollectJob {
  readonly items: readonly PromptItem[];
  readonly models: readonly string[];
  readonly configs: Readonly<Record<string, ModelConfig>>;
  readonly grade: Grader;
  readonly out: string;
  readonly concurrency: number;
  readonly timeouts: UpstreamTimeouts;
  readonly deps: ProposalDeps;
  /** A line of progress now and then. */
  readonly log?: (line: string) => void;
  /** Sampling options sent with every prompt (e.g. temperature, max_tokens). */
  readonly request?: Readonly<Record<string, unknown>>;
  /** Pairwise grading's baseline model: its answers are asked once per prompt and lent to the grader. */
  readonly baseline?: string;
}

export interface CollectReport {
  readonly collected: number;
  readonly skipped: number;
  /** Pairs with no row: the model failed (after retries) or the answer could not be graded. */
  readonly failed: ReadonlyArray<{ readonly id: string; readonly model: string; readonly why: string }>;
  readonly answerCostUsd: number;
  readonly gradeCostUsd: number;
}

/** Asks every model every prompt (at most `concurrency` calls at once), grades, appends a row per pair. */
export async function collect(job: CollectJob): Promise<CollectReport> {
  const { done, kept } = collectedPairs(job.out, job.baseline);
  // the baseline's answer to each prompt, asked once: for its own row and for grading the others against it
  const baselineAnswers = new Map<string, Promise<Proposal | undefined>>();
  const answerOf = (item: PromptItem, model: string): Promise<Proposal | undefined> => {
    const ask = (): Promise<Proposal | undefined> => propose([model], job.configs, { ...job.request, model, messages: [{ role: 'user', content: item.prompt }] } as Parameters<typeof propose>[2], job.timeouts, job.deps).then(([p]) => p);
    if (model !== job.baseline) return ask();
    let p = baselineAnswers.get(item.id);
    if (!p) baselineAnswers.set(item.id, (p = ask()));
    return p;
  };
  const context = (item: PromptItem): GradeContext => ({
    baselineAnswer: async () => kept.get(item.id) ?? (job.baseline ? (await answerOf(item, job.baseline))?.text : undefined),
  });
  const pairs = job.items.flatMap((item) => job.models.map((model) => ({ item, model }))).filter((p) => !done.has(`${p.item.id}\u0000${p.model}`));
  const skipped = job.items.length * job.models.length - pairs.length;
  const failed: Array<{ id: string; model: string; why: string }> = [];
  let collected = 0;
  let answerCostUsd = 0;
  let gradeCostUsd = 0;
  let next = 0;
  let lastLog = Date.now();
  const worker = async (): Promise<void> => {
    while (next < pairs.length) {
      const { item, model } = pairs[next++] as (typeof pairs)[number];
      const answer = await answerOf(item, model);
      if (!answer) {
        failed.push({ id: item.id, model, why: 'the model did not answer (after retries)' });
        continue;
      }
      answerCostUsd += answer.costUsd;
      const grade = await job.grade(item, answer.text, model, context(item));
      if (!grade) {
        failed.push({ id: item.id, model, why: 'the answer could not be graded' });
        continue;
      }
      gradeCostUsd += grade.costUsd;
      const usage = (answer.completion['usage'] ?? {}) as { prompt_tokens?: number; completion_tokens?: number };
      const row: CollectedRow = {
        id: item.id,
        prompt: item.prompt,
        ...(item.task ? { task: item.task } : {}),
        ...(item.split ? { split: item.split } : {}),
        model,
        score: grade.score,
        response: answer.text,
        input_tokens: usage.prompt_tokens ?? 0,
        output_tokens: usage.completion_tokens ?? 0,
        cost_usd: answer.costUsd,
      };
      appendFileSync(job.out, `${JSON.stringify(row)}\n`); // each pair is safe as soon as it is graded
      collected++;
      if (job.log && Date.now() - lastLog > 5000) {
        lastLog = Date.now();
        job.log(`collected ${collected + skipped} of ${job.items.length * job.models.length} (prompt, model) pairs`);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(job.concurrency, pairs.length)) }, worker));
  return { collected, skipped, failed, answerCostUsd, gradeCostUsd };
}
