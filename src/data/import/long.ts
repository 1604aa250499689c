/**
 * Imports a long layout of production logs: one row per (prompt, model), JSONL or CSV.
 * Fields (snake_case or camelCase): prompt, model, score (0..1) required; id or prompt_id, task,
 * split, response, cost / cost_usd, input_tokens, output_tokens optional. Without a cost, cost =
 * tokens x the price table's prices (then a price table is required for that model).
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { DataError } from '../../core/errors.js';
import { hashString } from '../../core/random.js';
import type { DatasetMeta, MatrixRow, ResponseRow } from '../../spec/dataset.js';
import { formatZodIssues } from '../load.js';
import { parseCsv } from './csv.js';
import { modelCards, stratifiedSplit, TOKENIZER, tokens } from './common.js';
import type { ImportOptions, ImportResult } from './routerbench.js';

const num = z.preprocess((v) => (typeof v === 'string' && v.trim() !== '' ? Number(v) : v === '' ? undefined : v), z.number().optional());

const LongRowSchema = z.object({
  id: z.string().min(1).optional(),
  prompt: z.string({ error: 'required: the prompt text' }),
  model: z.string({ error: 'required: the model id' }).min(1),
  score: z.preprocess((v) => (typeof v === 'string' ? Number(v) : v), z.number({ error: 'required: a number in 0..1' }).min(0).max(1)),
  task: z.string().optional(),
  split: z.enum(['train', 'test']).optional(),
  response: z.string().optional(),
  cost: num.pipe(z.number().nonnegative().optional()),
  inputTokens: num.pipe(z.number().int().nonnegative().optional()),
  outputTokens: num.pipe(z.number().int().nonnegative().optional()),
});

const ALIASES: Record<string, string> = {
  prompt_id: 'id',
  cost_usd: 'cost',
  costUsd: 'cost',
  input_tokens: 'inputTokens',
  output_tokens: 'outputTokens',
  prompt_tokens: 'inputTokens',
  completion_tokens: 'outputTokens',
};

function normalise(raw: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (v === '' || v === null) continue;
    out[ALIASES[k] ?? k] = v;
  }
  return out;
}

function readRecords(file: string): Array<{ line: number; raw: Record<string, unknown> }> {
  const text = readFileSync(file, 'utf8');
  if (file.toLowerCase().endsWith('.csv')) {
    const table = parseCsv(text, file);
    return table.rows.map(({ line, cells }) => ({
      line,
      raw: Object.fromEntries(table.header.map((h, i) => [h, cells[i] ?? ''])),
    }));
  }
  const out: Array<{ line: number; raw: Record<string, unknown> }> = [];
  const issues: string[] = [];
  text.split('\n').forEach((l, i) => {
    if (l.trim() === '') return;
    try {
      const v: unknown = JSON.parse(l);
      if (typeof v !== 'object' || v === null || Array.isArray(v)) issues.push(`${file}:${i + 1}: expected a JSON object`);
      else out.push({ line: i + 1, raw: v as Record<string, unknown> });
    } catch (e) {
      issues.push(`${file}:${i + 1}: invalid JSON: ${(e as Error).message}`);
    }
  });
  if (issues.length > 0) throw new DataError(issues, 'import_invalid');
  return out;
}

export function importLongLog(files: readonly string[], options: ImportOptions = {}): ImportResult {
  const issues: string[] = [];
  const warnings: string[] = [];
  const byId = new Map<string, MatrixRow>();
  const responses: ResponseRow[] = [];
  const models: string[] = [];
  const explicitSplit = new Set<string>();

  for (const file of files) {
    for (const { line, raw } of readRecords(file)) {
      const where = `${file}:${line}`;
      const parsed = LongRowSchema.safeParse(normalise(raw));
      if (!parsed.success) {
        issues.push(...formatZodIssues(where, parsed.error));
        continue;
      }
      const r = parsed.data;
      const id = r.id ?? `p-${hashString(r.prompt).toString(16).padStart(8, '0')}`;
      const inputTokens = r.inputTokens ?? tokens(r.prompt);
      const outputTokens = r.outputTokens ?? (r.response !== undefined ? tokens(r.response) : 0);
      let cost = r.cost;
      if (cost === undefined) {
        const price = options.prices?.[r.model];
        if (!price) {
          issues.push(`${where}: cost: missing, and the price table has no entry for model "${r.model}" (pass --prices FILE)`);
          continue;
        }
        cost = (inputTokens * price.inputPricePerMTok + outputTokens * price.outputPricePerMTok) / 1e6;
      }
      let row = byId.get(id);
      if (!row) {
        row = { id, prompt: r.prompt, task: r.task ?? 'all', split: r.split ?? 'train', outcomes: {} };
        byId.set(id, row);
      } else if (row.prompt !== r.prompt) {
        issues.push(`${where}: prompt: differs from an earlier row with id "${id}"`);
        continue;
      }
      if (r.split) explicitSplit.add(id);
      if (row.outcomes[r.model]) warnings.push(`${where}: second outcome for (${id}, ${r.model}); kept the first`);
      else row.outcomes[r.model] = { score: r.score, costUsd: cost, inputTokens, outputTokens };
      if (!models.includes(r.model)) models.push(r.model);
      if (r.response !== undefined) responses.push({ id, model: r.model, response: r.response });
    }
  }
  if (issues.length > 0) throw new DataError(issues, 'import_invalid');
  if (byId.size === 0) throw new DataError([`${files.join(', ')}: no rows`], 'import_invalid');

  const rows = [...byId.values()];
  const unsplit = rows.filter((r) => !explicitSplit.has(r.id));
  if (unsplit.length > 0) {
    const assigned = stratifiedSplit(unsplit.map((r) => ({ id: r.id, task: r.task ?? 'all' })), options.testFraction ?? 0.3, options.seed ?? 42);
    for (const r of unsplit) r.split = assigned.get(r.id) ?? 'train';
  }
  const binary = rows.every((r) => Object.values(r.outcomes).every((o) => o.score === 0 || o.score === 1));
  const meta: DatasetMeta = {
    name: options.name ?? 'log-import',
    description: `Imported from production logs (long layout): ${files.join(', ')}`,
    scoreKind: binary ? 'binary' : 'judge',
    costModel: `recorded cost where logged, else tokens x price table; missing tokens counted with ${TOKENIZER}`,
    models: modelCards(models, rows, options.prices),
    splitSeed: unsplit.length > 0 ? (options.seed ?? 42) : null,
  };
  return { meta, rows, responses, warnings };
}
