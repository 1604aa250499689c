/** Where the shared real datasets live, and a clear skip message when they are absent. */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

export const DATA_DIR = resolve(process.env['SWITCHYARD_DATA'] ?? '../shared/data');
export const DATASETS = ['routerbench', 'alpaca_eval', 'llmrouter', 'routellm_mmlu', 'routellm_gsm8k', 'routellm_mtbench'] as const;

export function dataPath(name: string): string {
  return resolve(DATA_DIR, name);
}

export function hasData(name: string): boolean {
  const ok = existsSync(resolve(DATA_DIR, name));
  if (!ok) console.warn(`SKIP: ${resolve(DATA_DIR, name)} is absent (set SWITCHYARD_DATA to the shared data folder to run these tests)`);
  return ok;
}
