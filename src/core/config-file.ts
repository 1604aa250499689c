/** Reads a JSON or YAML config file and validates it with a zod schema; every problem names its path. */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { SwitchyardError } from './errors.js';

export function readConfigFile<T>(file: string, schema: z.ZodType<T>): T {
  let raw: unknown;
  try {
    const text = readFileSync(file, 'utf8');
    raw = /\.json$/i.test(file) ? JSON.parse(text) : parseYaml(text);
  } catch (e) {
    throw new SwitchyardError('invalid_argument', `${file}: cannot read config: ${(e as Error).message}`);
  }
  return validateConfig(raw, schema, file);
}

export function validateConfig<T>(raw: unknown, schema: z.ZodType<T>, where: string): T {
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.map(String).join('.') || '(root)'}: ${i.message}`);
    throw new SwitchyardError('invalid_argument', `${where}: invalid config:\n${lines.join('\n')}`);
  }
  return parsed.data;
}
