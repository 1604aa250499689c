import { describe, expect, it } from 'vitest';
import { parseCsv } from './csv.js';
import { cellText, parsePythonStringList } from './python-literal.js';

describe('parseCsv', () => {
  it('handles quotes, doubled quotes, embedded newlines and CRLF, and reports start lines', () => {
    const t = parseCsv('a,b,c\r\n1,"x, ""y""",3\r\n2,"multi\nline",4\n');
    expect(t.header).toEqual(['a', 'b', 'c']);
    expect(t.rows.map((r) => r.cells)).toEqual([
      ['1', 'x, "y"', '3'],
      ['2', 'multi\nline', '4'],
    ]);
    expect(t.rows.map((r) => r.line)).toEqual([2, 3]);
  });
  it('rejects an unterminated quote', () => {
    expect(() => parseCsv('a\n"oops\n', 'f.csv')).toThrow(/f\.csv:2: unterminated/);
  });
});

describe('parsePythonStringList', () => {
  it('parses repr(list) with both quote styles and escapes', () => {
    expect(parsePythonStringList(`['it\\'s', "say \\"hi\\"", 'a\\nb', '\\x41\\u00e9']`)).toEqual(["it's", 'say "hi"', 'a\nb', 'Aé']);
    expect(parsePythonStringList('[]')).toEqual([]);
  });
  it('returns undefined for anything else', () => {
    expect(parsePythonStringList('plain text')).toBeUndefined();
    expect(parsePythonStringList("['unterminated]")).toBeUndefined();
    expect(parsePythonStringList("['a'] trailing")).toBeUndefined();
  });
  it('cellText joins turns with a blank line and keeps plain cells', () => {
    expect(cellText("['q1', 'q2']")).toBe('q1\n\nq2');
    expect(cellText('just a prompt')).toBe('just a prompt');
  });
});
