import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { HTTP_ERROR_CODES } from '../gateway/openai-errors.js';
import { DataError, ERROR_CODES, SwitchyardError } from './errors.js';

describe('error codes', () => {
  it('every code is documented in docs/errors.md', () => {
    const doc = readFileSync('docs/errors.md', 'utf8');
    for (const code of Object.keys(ERROR_CODES)) expect(doc, code).toContain(`| \`${code}\` |`);
  });
  it('every documented code exists', () => {
    const doc = readFileSync('docs/errors.md', 'utf8');
    const listed = [...doc.matchAll(/^\| `([a-z_]+)` \|/gm)].map((m) => m[1]);
    expect(listed.sort()).toEqual([...Object.keys(ERROR_CODES), ...Object.keys(HTTP_ERROR_CODES)].sort());
  });
  it('every HTTP error code is documented', () => {
    const doc = readFileSync('docs/errors.md', 'utf8');
    for (const code of Object.keys(HTTP_ERROR_CODES)) expect(doc, code).toContain(`| \`${code}\` |`);
  });
  it('DataError lists its issues and caps the message', () => {
    const e = new DataError(Array.from({ length: 30 }, (_, i) => `f:${i}: bad`));
    expect(e).toBeInstanceOf(SwitchyardError);
    expect(e.code).toBe('data_invalid');
    expect(e.message).toMatch(/30 problem\(s\)/);
    expect(e.message).toMatch(/and 10 more/);
  });
});
