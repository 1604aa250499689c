import { invalidArgument } from '../../core/errors.js';
import { readPriceTable } from '../../data/import/common.js';
import { importLongLog } from '../../data/import/long.js';
import { importRouterBench } from '../../data/import/routerbench.js';
import { inspectDataset } from '../../data/inspect.js';
import { openDataset } from '../../data/open.js';
import { writeDataset } from '../../data/write.js';
import { numberFlag, parse, requireString } from '../args.js';
import { COLLECT_USAGE, runCollect } from './collect.js';

const IMPORT_USAGE = `usage: switchyard data import --from routerbench|long --out DIR [--name NAME] [--prices prices.json]
                              [--test-fraction F] [--seed N] INPUT...

  --from routerbench  RouterBench wide CSVs (files or folders): <model>, <model>|model_response, <model>|total_cost
  --from long         production logs, one row per prompt x model (JSONL or CSV): prompt, model, score,
                      and cost or tokens (+ --prices); optional id, task, split, response
  --prices FILE       JSON {"<model>": {"inputPricePerMTok": n, "outputPricePerMTok": n}}
  --test-fraction F   share of prompts per task sent to test when the input has no split (default 0.3)`;

const INSPECT_USAGE = 'usage: switchyard data inspect DIR | --data DIR   (a routing-matrix folder or RouterBench CSVs)';

export async function runData(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv;
  if (sub === 'import') return runImport(rest);
  if (sub === 'collect') return runCollect(rest);
  if (sub === 'inspect') {
    // the folder as the other commands take it (--data), or as the first argument
    const { values, positionals } = parse(rest, { data: { type: 'string' } }, INSPECT_USAGE);
    const dir = typeof values['data'] === 'string' ? values['data'] : positionals[0];
    if (!dir) throw invalidArgument(`data inspect: a dataset path is required\n\n${INSPECT_USAGE}`);
    process.stdout.write(inspectDataset(openDataset(dir, (l) => void process.stderr.write(l + '\n'))) + '\n');
    return;
  }
  throw invalidArgument(`data: unknown subcommand ${JSON.stringify(sub ?? '')} (import, inspect, collect)\n\n${IMPORT_USAGE}\n${INSPECT_USAGE}\n\n${COLLECT_USAGE}`);
}

async function runImport(argv: string[]): Promise<void> {
  const { values, positionals } = parse(
    argv,
    { from: { type: 'string' }, out: { type: 'string' }, name: { type: 'string' }, prices: { type: 'string' }, 'test-fraction': { type: 'string' }, seed: { type: 'string' } },
    IMPORT_USAGE,
  );
  const from = requireString(values, 'from', IMPORT_USAGE);
  const out = requireString(values, 'out', IMPORT_USAGE);
  if (positionals.length === 0) throw invalidArgument(`data import: at least one INPUT file or folder is required\n\n${IMPORT_USAGE}`);
  const testFraction = numberFlag(values, 'test-fraction', 0.3, (v) => v > 0 && v < 1, 'a number between 0 and 1');
  const seed = numberFlag(values, 'seed', 42, Number.isInteger, 'an integer');
  const name = values['name'];
  const prices = values['prices'];
  const options = {
    testFraction,
    seed,
    ...(typeof name === 'string' ? { name } : {}),
    ...(typeof prices === 'string' ? { prices: readPriceTable(prices) } : {}),
  };
  let result;
  if (from === 'routerbench') result = importRouterBench(positionals, options);
  else if (from === 'long') result = importLongLog(positionals, options);
  else throw invalidArgument(`--from: expected "routerbench" or "long", got ${JSON.stringify(from)}`);
  for (const w of result.warnings) process.stderr.write(`warning: ${w}\n`);
  writeDataset(out, result.meta, result.rows, result.responses);
  const splits: Record<string, number> = {};
  for (const r of result.rows) splits[r.split] = (splits[r.split] ?? 0) + 1;
  const splitText = Object.entries(splits).sort(([a], [b]) => (a === 'train' ? -1 : b === 'train' ? 1 : a.localeCompare(b))).map(([k, v]) => `${k} ${v}`).join(', ');
  process.stdout.write(`imported ${result.rows.length} prompts × ${result.meta.models.length} models (${splitText}) into ${out}\n`);
}
