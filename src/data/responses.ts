/** Reading responses.jsonl.gz (answer texts), only when asked for, and the zod issue formatter shared by the loaders. */
import { createReadStream, existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';
import type { z } from 'zod';
import { DataError, SwitchyardError } from '../core/errors.js';
import { ResponseRowSchema, type ResponseRow } from '../spec/dataset.js';

export function formatZodIssues(where: string, error: z.ZodError): string[] {
  return error.issues.map((issue) => {
    const path = issue.path.map(String).join('.') || '(root)';
    return `${where}: ${path}: ${issue.message}`;
  });
}

/** Streams responses.jsonl.gz (only when asked for): yields validated rows, optionally filtered. */
export async function* streamResponses(
  dir: string,
  filter?: (row: ResponseRow) => boolean,
): AsyncGenerator<ResponseRow> {
  const file = join(dir, 'responses.jsonl.gz');
  if (!existsSync(file)) throw new SwitchyardError('data_not_found', `${file}: not found (this dataset has no response texts)`);
  const lines = createInterface({ input: createReadStream(file).pipe(createGunzip()), crlfDelay: Infinity });
  let ln = 0;
  for await (const line of lines) {
    ln++;
    if (line.trim() === '') continue;
    let raw: unknown;
    try {
      raw = JSON.parse(line);
    } catch (e) {
      throw new DataError([`${file}:${ln}: invalid JSON: ${(e as Error).message}`]);
    }
    const parsed = ResponseRowSchema.safeParse(raw);
    if (!parsed.success) throw new DataError(formatZodIssues(`${file}:${ln}`, parsed.error));
    if (!filter || filter(parsed.data)) yield parsed.data;
  }
}
