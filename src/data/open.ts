/**
 * Opens whatever a user points at: a routing-matrix folder (dataset.json), or RouterBench wide CSVs
 * (a .csv file or a folder of them, e.g. routerbench/raw/), imported in memory.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { SwitchyardError } from '../core/errors.js';
import { csvFiles, importRouterBench } from './import/routerbench.js';
import { buildMatrix, loadDataset } from './load.js';
import type { RoutingMatrix } from './routing-matrix.js';

export function openDataset(path: string, log?: (line: string) => void): RoutingMatrix {
  if (!existsSync(path)) throw new SwitchyardError('data_not_found', `${path}: no such file or folder`);
  if (statSync(path).isDirectory() && existsSync(join(path, 'dataset.json'))) return loadDataset(path);
  if (csvFiles(path).length > 0) {
    const imported = importRouterBench([path]);
    for (const w of imported.warnings) log?.(`import: ${w}`);
    return buildMatrix(imported.meta, imported.rows, path);
  }
  throw new SwitchyardError('data_not_found', `${path}: neither a routing-matrix folder (dataset.json) nor RouterBench CSV files`);
}
