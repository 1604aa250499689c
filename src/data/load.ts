/**
 * Loading the routing-matrix format from a folder: dataset.json + matrix.jsonl (+ responses.jsonl.gz
 * on demand). All-or-nothing: every problem is collected with file, line and field, and nothing
 * half-loaded is returned.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DataError, SwitchyardError } from '../core/errors.js';
import {
  DatasetMetaSchema,
  MatrixRowSchema,
  type DatasetMeta,
  type MatrixRow,
  type Split,
} from '../spec/dataset.js';
import { formatZodIssues } from './responses.js';
import { RoutingMatrix } from './routing-matrix.js';

export { formatZodIssues };

const MAX_ISSUES = 200;


export function readDatasetMeta(dir: string): DatasetMeta {
  const file = join(dir, 'dataset.json');
  if (!existsSync(file)) {
    throw new SwitchyardError('data_not_found', `${file}: not found (is ${dir} a routing-matrix folder? see docs/data-format.md)`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new DataError([`${file}:1: invalid JSON: ${(e as Error).message}`]);
  }
  const parsed = DatasetMetaSchema.safeParse(raw);
  if (!parsed.success) throw new DataError(formatZodIssues(file, parsed.error));
  const seen = new Set<string>();
  const dupes = parsed.data.models.filter((m) => (seen.has(m.id) ? true : (seen.add(m.id), false)));
  if (dupes.length > 0) throw new DataError(dupes.map((m) => `${file}: models: duplicate model id "${m.id}"`));
  return parsed.data;
}

export interface LoadOptions {
  /** Keep only these splits in memory. */
  readonly splits?: readonly Split[];
}

export function loadDataset(dir: string, options: LoadOptions = {}): RoutingMatrix {
  const meta = readDatasetMeta(dir);
  const file = join(dir, 'matrix.jsonl');
  if (!existsSync(file)) throw new SwitchyardError('data_not_found', `${file}: not found`);
  const lines = readFileSync(file, 'utf8').split('\n');
  const modelIndex = new Map(meta.models.map((m, i) => [m.id, i]));
  const keep = options.splits ? new Set<Split>(options.splits) : undefined;

  const rows: MatrixRow[] = [];
  const issues: string[] = [];
  const seenIds = new Map<string, number>();

  for (let ln = 0; ln < lines.length && issues.length < MAX_ISSUES; ln++) {
    const line = lines[ln] as string;
    if (line.trim() === '') continue;
    const where = `${file}:${ln + 1}`;
    let raw: unknown;
    try {
      raw = JSON.parse(line);
    } catch (e) {
      issues.push(`${where}: invalid JSON: ${(e as Error).message}`);
      continue;
    }
    const parsed = MatrixRowSchema.safeParse(raw);
    if (!parsed.success) {
      issues.push(...formatZodIssues(where, parsed.error));
      continue;
    }
    const row = parsed.data;
    const prev = seenIds.get(row.id);
    if (prev !== undefined) issues.push(`${where}: id: duplicate prompt id "${row.id}" (first on line ${prev})`);
    seenIds.set(row.id, ln + 1);
    for (const model of Object.keys(row.outcomes)) {
      if (!modelIndex.has(model)) issues.push(`${where}: outcomes.${model}: model "${model}" is not in dataset.json models`);
    }
    if (!keep || keep.has(row.split)) rows.push(row);
  }
  if (issues.length > 0) throw new DataError(issues);
  if (rows.length === 0) throw new DataError([`${file}: no prompts${keep ? ` in split(s) ${[...keep].join(', ')}` : ''}`]);
  return buildMatrix(meta, rows, dir);
}

/** Packs validated rows into a RoutingMatrix (outcomes of models outside `meta.models` are an error upstream). */
export function buildMatrix(meta: DatasetMeta, rows: readonly MatrixRow[], dir?: string): RoutingMatrix {
  const m = meta.models.length;
  const n = rows.length;
  const modelIndex = new Map(meta.models.map((c, i) => [c.id, i]));
  const scores = new Float64Array(n * m).fill(Number.NaN);
  const costs = new Float64Array(n * m).fill(Number.NaN);
  const inputTokens = new Float64Array(n * m).fill(Number.NaN);
  const outputTokens = new Float64Array(n * m).fill(Number.NaN);
  rows.forEach((row, i) => {
    for (const [model, o] of Object.entries(row.outcomes)) {
      const j = modelIndex.get(model);
      if (j === undefined) continue;
      scores[i * m + j] = o.score;
      costs[i * m + j] = o.costUsd;
      inputTokens[i * m + j] = o.inputTokens ?? Number.NaN;
      outputTokens[i * m + j] = o.outputTokens ?? Number.NaN;
    }
  });
  const cols = {
    ids: rows.map((r) => r.id),
    prompts: rows.map((r) => r.prompt),
    tasks: rows.map((r) => r.task ?? 'all'),
    splits: rows.map((r) => r.split),
    scores,
    costs,
    inputTokens,
    outputTokens,
  };
  return new RoutingMatrix(meta, cols, dir);
}

export { streamResponses } from './responses.js';
