/** Flag parsing shared by the subcommands: every bad flag is reported by name. */
import { writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { invalidArgument } from '../core/errors.js';
import { makeDir } from '../core/fs.js';

export type Options = NonNullable<ParseArgsConfig['options']>;

export function parse(argv: string[], options: Options, usage: string): { values: Record<string, string | boolean | string[] | undefined>; positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
    if (values['help']) {
      process.stdout.write(usage + '\n');
      process.exit(0);
    }
    return { values: values as Record<string, string | boolean | string[] | undefined>, positionals };
  } catch (e) {
    if ((e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) throw invalidArgument(`${(e as Error).message}\n\n${usage}`);
    throw e;
  }
}

export function requireString(values: Record<string, unknown>, name: string, usage: string): string {
  const v = values[name];
  if (typeof v !== 'string' || v === '') throw invalidArgument(`--${name} is required\n\n${usage}`);
  return v;
}

export function numberFlag(values: Record<string, unknown>, name: string, fallback: number, check?: (v: number) => boolean, expected = 'a number'): number {
  const v = values[name];
  if (v === undefined) return fallback;
  const n = Number(v);
  if (typeof v !== 'string' || v.trim() === '' || !Number.isFinite(n) || (check && !check(n))) {
    throw invalidArgument(`--${name}: expected ${expected}, got ${JSON.stringify(v)}`);
  }
  return n;
}

/** Writes an output file named by `--flag`, creating its folder; a file that cannot be written is an error naming the flag. */
export function writeOutput(flag: string, file: string, text: string): void {
  try {
    makeDir(dirname(resolve(file)));
    writeFileSync(file, text);
  } catch (e) {
    throw invalidArgument(`--${flag}: cannot write ${file}: ${(e as Error).message}`);
  }
}

/** Makes sure the folder of an output file named by `--flag` exists (for files written piece by piece). */
export function prepareOutput(flag: string, file: string): void {
  try {
    makeDir(dirname(resolve(file)));
  } catch (e) {
    throw invalidArgument(`--${flag}: cannot create the folder of ${file}: ${(e as Error).message}`);
  }
}
