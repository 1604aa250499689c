/**
 * Parses the Python list reprs RouterBench stores in its CSV cells (e.g. `['first turn', "it's"]`).
 * Only what `repr(list_of_str)` produces is accepted: a list of single- or double-quoted strings.
 */
const SIMPLE_ESCAPES: Record<string, string> = {
  n: '\n', t: '\t', r: '\r', '\\': '\\', "'": "'", '"': '"', a: '\x07', b: '\b', f: '\f', v: '\v', '0': '\0',
};

export function parsePythonStringList(src: string): string[] | undefined {
  const s = src.trim();
  if (!s.startsWith('[') || !s.endsWith(']')) return undefined;
  const out: string[] = [];
  let i = 1;
  const skipSpace = (): void => {
    while (i < s.length && /\s/.test(s[i] as string)) i++;
  };
  skipSpace();
  if (s[i] === ']') return i === s.length - 1 ? out : undefined;
  for (;;) {
    skipSpace();
    const quote = s[i];
    if (quote !== "'" && quote !== '"') return undefined;
    i++;
    let value = '';
    for (;;) {
      if (i >= s.length) return undefined;
      const c = s[i] as string;
      if (c === quote) {
        i++;
        break;
      }
      if (c !== '\\') {
        value += c;
        i++;
        continue;
      }
      const e = s[i + 1];
      if (e === undefined) return undefined;
      if (e === 'x' || e === 'u' || e === 'U') {
        const len = e === 'x' ? 2 : e === 'u' ? 4 : 8;
        const hex = s.slice(i + 2, i + 2 + len);
        if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length !== len) return undefined;
        value += String.fromCodePoint(parseInt(hex, 16));
        i += 2 + len;
      } else if (e in SIMPLE_ESCAPES) {
        value += SIMPLE_ESCAPES[e];
        i += 2;
      } else {
        value += '\\' + e; // Python keeps unknown escapes verbatim
        i += 2;
      }
    }
    out.push(value);
    skipSpace();
    if (s[i] === ',') {
      i++;
      skipSpace();
      if (s[i] === ']') return i === s.length - 1 ? out : undefined;
      continue;
    }
    if (s[i] === ']') return i === s.length - 1 ? out : undefined;
    return undefined;
  }
}

/** A cell as plain text: list reprs are joined with a blank line, anything else is kept as is. */
export function cellText(cell: string): string {
  const list = parsePythonStringList(cell);
  return list === undefined ? cell : list.join('\n\n');
}
