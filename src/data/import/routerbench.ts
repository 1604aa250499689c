/**
 * Imports RouterBench's wide CSV layout: one row per prompt; per model the columns `<model>` (score),
 * `<model>|model_response` and `<model>|total_cost`; `sample_id`, `eval_name`, python-list prompts.
 * The split comes from the file name (`*_train.csv` / `*_test.csv`, `_val`/`_dev` count as train);
 * files without one are split by a seeded stratified split.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { DataError } from '../../core/errors.js';
import type { DatasetMeta, MatrixRow, Outcome, ResponseRow, Split } from '../../spec/dataset.js';
import { parseCsv } from './csv.js';
import { cellText } from './python-literal.js';
import { modelCards, stratifiedSplit, TOKENIZER, tokens, type PriceTable } from './common.js';

export interface ImportOptions {
  readonly name?: string;
  readonly prices?: PriceTable;
  readonly testFraction?: number;
  readonly seed?: number;
}

export interface ImportResult {
  readonly meta: DatasetMeta;
  readonly rows: MatrixRow[];
  readonly responses: ResponseRow[];
  readonly warnings: string[];
}

const META_COLUMNS = new Set(['', 'sample_id', 'prompt', 'eval_name', 'oracle_model_to_route_to']);

export function splitFromFileName(file: string): Split | undefined {
  const b = basename(file).toLowerCase();
  if (/[_.-]test\.csv$/.test(b)) return 'test';
  if (/[_.-](train|val|dev)\.csv$/.test(b)) return 'train';
  return undefined;
}

/** CSV files of a folder (sorted), or the file itself. */
export function csvFiles(path: string): string[] {
  if (statSync(path).isDirectory()) {
    return readdirSync(path)
      .filter((f) => f.toLowerCase().endsWith('.csv'))
      .sort()
      .map((f) => join(path, f));
  }
  return [path];
}

interface Candidate {
  row: MatrixRow;
  responses: ResponseRow[];
  file: string;
  line: number;
  split: Split | undefined;
}

function parseNumberCell(cell: string, where: string, issues: string[]): number | undefined {
  const t = cell.trim();
  if (t === '' || t.toLowerCase() === 'nan') return undefined;
  const v = Number(t);
  if (!Number.isFinite(v)) {
    issues.push(`${where}: not a number: ${JSON.stringify(t.slice(0, 40))}`);
    return undefined;
  }
  return v;
}

export function importRouterBench(paths: readonly string[], options: ImportOptions = {}): ImportResult {
  const files = paths.flatMap(csvFiles);
  if (files.length === 0) throw new DataError([`${paths.join(', ')}: no .csv files`], 'import_invalid');
  const issues: string[] = [];
  const warnings: string[] = [];
  const models: string[] = [];
  const byId = new Map<string, Candidate>();

  for (const file of files) {
    let table;
    try {
      table = parseCsv(readFileSync(file, 'utf8'), file);
    } catch (e) {
      throw new DataError([(e as Error).message], 'import_invalid');
    }
    const col = new Map(table.header.map((h, i) => [h, i]));
    for (const required of ['sample_id', 'prompt']) {
      if (!col.has(required)) issues.push(`${file}:1: missing column "${required}" (not the RouterBench wide layout)`);
    }
    const fileModels = table.header.filter((h) => !META_COLUMNS.has(h) && !h.includes('|'));
    if (fileModels.length === 0) issues.push(`${file}:1: no model score columns found`);
    if (issues.length > 0) continue;
    for (const m of fileModels) if (!models.includes(m)) models.push(m);
    const split = splitFromFileName(file);

    for (const { line, cells } of table.rows) {
      const get = (name: string): string => {
        const i = col.get(name);
        return i === undefined ? '' : (cells[i] ?? '');
      };
      const id = get('sample_id').trim();
      if (id === '') {
        issues.push(`${file}:${line}: sample_id: empty`);
        continue;
      }
      const prompt = cellText(get('prompt'));
      const inputTokens = tokens(prompt);
      const outcomes: Record<string, Outcome> = {};
      const responses: ResponseRow[] = [];
      for (const m of fileModels) {
        const score = parseNumberCell(get(m), `${file}:${line}: ${m}`, issues);
        if (score === undefined) continue;
        if (score < 0 || score > 1) {
          issues.push(`${file}:${line}: ${m}: score ${score} is outside 0..1`);
          continue;
        }
        const cost = parseNumberCell(get(`${m}|total_cost`), `${file}:${line}: ${m}|total_cost`, issues);
        if (cost === undefined) {
          issues.push(`${file}:${line}: ${m}|total_cost: missing cost for a recorded score`);
          continue;
        }
        if (cost < 0) {
          issues.push(`${file}:${line}: ${m}|total_cost: negative cost ${cost}`);
          continue;
        }
        const response = cellText(get(`${m}|model_response`));
        outcomes[m] = { score, costUsd: cost, inputTokens, outputTokens: tokens(response) };
        if (response !== '') responses.push({ id, model: m, response });
      }
      const task = get('eval_name').trim() || 'all';
      const candidate: Candidate = { row: { id, prompt, task, split: split ?? 'train', outcomes }, responses, file, line, split };
      const prev = byId.get(id);
      if (prev) {
        const keepNew = Object.keys(outcomes).length > Object.keys(prev.row.outcomes).length;
        const [kept, dropped] = keepNew ? [candidate, prev] : [prev, candidate];
        warnings.push(
          `sample_id ${id}: rows ${prev.file}:${prev.line} and ${file}:${line}; kept ${kept.file}:${kept.line} ` +
            `(${Object.keys(kept.row.outcomes).length} models), dropped the other (${Object.keys(dropped.row.outcomes).length} models)`,
        );
        if (keepNew) byId.set(id, candidate);
      } else {
        byId.set(id, candidate);
      }
    }
  }
  if (issues.length > 0) throw new DataError(issues, 'import_invalid');

  const candidates = [...byId.values()];
  const unsplit = candidates.filter((c) => c.split === undefined);
  if (unsplit.length > 0) {
    const assigned = stratifiedSplit(
      unsplit.map((c) => ({ id: c.row.id, task: c.row.task ?? 'all' })),
      options.testFraction ?? 0.3,
      options.seed ?? 42,
    );
    for (const c of unsplit) c.row.split = assigned.get(c.row.id) ?? 'train';
  }
  const rows = candidates.map((c) => c.row);
  const meta: DatasetMeta = {
    name: options.name ?? 'routerbench-import',
    description: `Imported from RouterBench wide CSV: ${files.map((f) => basename(f)).join(', ')}`,
    scoreKind: rows.every((r) => Object.values(r.outcomes).every((o) => o.score === 0 || o.score === 1)) ? 'binary' : 'judge',
    costModel: `recorded: costUsd = the source's <model>|total_cost; tokens recounted with ${TOKENIZER}`,
    models: modelCards(models, rows, options.prices),
    splitSeed: unsplit.length > 0 ? (options.seed ?? 42) : null,
  };
  return { meta, rows, responses: candidates.flatMap((c) => c.responses), warnings };
}
