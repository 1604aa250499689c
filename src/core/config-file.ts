/**
 * Reads a JSON or YAML config file and validates it with a zod schema; every problem names its path.
 * String values may name environment variables: `${NAME}`, `${NAME:-default}` (`$${` for a literal
 * `${`); a value that is one whole reference to a number or a boolean is one (`port: ${PORT}`).
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { SwitchyardError } from './errors.js';

export function readConfigFile<T>(file: string, schema: z.ZodType<T>, env: Readonly<Record<string, string | undefined>> = process.env): T {
  let raw: unknown;
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
    raw = /\.json$/i.test(file) ? JSON.parse(text) : parseYaml(text);
  } catch (e) {
    throw new SwitchyardError('invalid_argument', `${file}: cannot read config: ${(e as Error).message}${flowReferenceHint(text, e)}`);
  }
  const unset: string[] = [];
  raw = interpolateEnv(raw, env, [], unset);
  if (unset.length > 0) throw new SwitchyardError('invalid_argument', `${file}: invalid config:\n${unset.map((u) => `  ${u}`).join('\n')}`);
  return validateConfig(raw, schema, file);
}

/**
 * YAML reads an unquoted `${` inside a `{ … }` or `[ … ]` as the start of a map: a parse error on a
 * line holding one gets the fix (quote the value) added.
 */
function flowReferenceHint(text: string, e: unknown): string {
  const line = (e as { linePos?: ReadonlyArray<{ line: number }> }).linePos?.[0]?.line;
  const source = line === undefined ? undefined : text.split('\n')[line - 1];
  return source !== undefined && /[{[]/.test(source) && /(^|[^"'$])\$\{/.test(source) ? '\n(a ${NAME} inside { … } or [ … ] must be quoted: port: "${PORT}")' : '';
}

const REFERENCE = /\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/** `${NAME}` / `${NAME:-default}` in string values, from `env`; each unset one without a default is added to `unset` with its path. */
export function interpolateEnv(value: unknown, env: Readonly<Record<string, string | undefined>>, path: readonly string[], unset: string[]): unknown {
  if (typeof value === 'string') {
    if (!value.includes('${')) return value;
    const whole = /^\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}$/.exec(value);
    const out = value.replace(REFERENCE, (match, name: string | undefined, fallback: string | undefined) => {
      if (name === undefined) return '${'; // $${ escapes
      const v = env[name] ?? fallback;
      if (v === undefined) unset.push(`${path.join('.') || '(root)'}: \${${name}} is not set (set it, or give a default: \${${name}:-value})`);
      return v ?? match;
    });
    if (!whole) return out;
    try {
      const parsed: unknown = parseYaml(out); // 8080 → a number, true → a boolean; anything else stays text
      return typeof parsed === 'number' || typeof parsed === 'boolean' ? parsed : out;
    } catch {
      return out;
    }
  }
  if (Array.isArray(value)) return value.map((v, i) => interpolateEnv(v, env, [...path, String(i)], unset));
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolateEnv(v, env, [...path, k], unset)]));
  return value;
}

export function validateConfig<T>(raw: unknown, schema: z.ZodType<T>, where: string): T {
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const lines = parsed.error.issues.flatMap((i) => {
      const at = i.path.map(String).join('.');
      if (i.code !== 'unrecognized_keys') return [`  ${at || '(root)'}: ${i.message}`];
      // a misspelt key would otherwise be ignored without a word: name it, and the key it was probably meant to be
      const known = knownKeys(schema, i.path);
      return i.keys.map((k) => {
        const guess = closest(k, known);
        return `  ${at ? `${at}.` : ''}${k}: unknown key${guess ? ` (did you mean "${guess}"?)` : known.length > 0 ? ` (known here: ${known.join(', ')})` : ''}`;
      });
    });
    throw new SwitchyardError('invalid_argument', `${where}: invalid config:\n${lines.join('\n')}`);
  }
  return parsed.data;
}

interface SchemaDef {
  readonly type: string;
  readonly shape?: Record<string, z.ZodType>;
  readonly innerType?: z.ZodType;
  readonly element?: z.ZodType;
  readonly valueType?: z.ZodType;
  readonly in?: z.ZodType;
}
const defOf = (s: z.ZodType): SchemaDef => (s as unknown as { _zod: { def: SchemaDef } })._zod.def;

/** The keys an object schema at `path` knows (through optionals, defaults, arrays and records). */
function knownKeys(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  let s: z.ZodType | undefined = schema;
  let i = 0;
  while (s) {
    const d = defOf(s);
    if (d.innerType) s = d.innerType;
    else if (d.type === 'pipe' && d.in) s = d.in;
    else if (i === path.length) return d.shape ? Object.keys(d.shape) : [];
    else if (d.shape) s = d.shape[String(path[i++])];
    else if (d.element) (s = d.element), i++;
    else if (d.valueType) (s = d.valueType), i++;
    else return [];
  }
  return [];
}

/** The known key nearest to `key` (case aside, or at most 2 edits away), if any. */
function closest(key: string, known: readonly string[]): string | undefined {
  const lower = key.toLowerCase();
  const exact = known.find((k) => k.toLowerCase() === lower);
  if (exact) return exact;
  let best: { key: string; d: number } | undefined;
  for (const k of known) {
    const d = editDistance(lower, k.toLowerCase());
    if (d <= 2 && (!best || d < best.d)) best = { key: k, d };
  }
  return best?.key;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row.push(Math.min((prev[j] as number) + 1, (row[j - 1] as number) + 1, (prev[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1)));
    prev = row;
  }
  return prev[b.length] as number;
}
