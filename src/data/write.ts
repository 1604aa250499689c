/** Writes the routing-matrix format (dataset.json, matrix.jsonl, responses.jsonl.gz). */
import { writeFileSync } from 'node:fs';
import { makeDir } from '../core/fs.js';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { DatasetMeta, MatrixRow, ResponseRow } from '../spec/dataset.js';

export function writeDataset(
  dir: string,
  meta: DatasetMeta,
  rows: readonly MatrixRow[],
  responses: readonly ResponseRow[] = [],
): void {
  makeDir(dir);
  const splits: Record<string, number> = {};
  for (const r of rows) splits[r.split] = (splits[r.split] ?? 0) + 1;
  writeFileSync(join(dir, 'dataset.json'), JSON.stringify({ ...meta, splits }, null, 2) + '\n');
  writeFileSync(join(dir, 'matrix.jsonl'), rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  if (responses.length > 0) {
    const text = responses.map((r) => JSON.stringify(r)).join('\n') + '\n';
    writeFileSync(join(dir, 'responses.jsonl.gz'), gzipSync(text));
  }
}
