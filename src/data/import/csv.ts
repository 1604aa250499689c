/** A small RFC 4180 CSV reader: quoted fields, doubled quotes, newlines inside quotes, CRLF. */
export interface CsvTable {
  readonly header: readonly string[];
  /** Data rows with the 1-based line number where each starts (for error messages). */
  readonly rows: ReadonlyArray<{ readonly line: number; readonly cells: readonly string[] }>;
}

export function parseCsv(text: string, file = 'input.csv'): CsvTable {
  const records: Array<{ line: number; cells: string[] }> = [];
  let cells: string[] = [];
  let field = '';
  let inQuotes = false;
  let line = 1;
  let recordLine = 1;
  let i = 0;
  const n = text.length;
  const endField = (): void => {
    cells.push(field);
    field = '';
  };
  const endRecord = (): void => {
    endField();
    if (!(cells.length === 1 && cells[0] === '')) records.push({ line: recordLine, cells });
    cells = [];
    recordLine = line;
  };
  while (i < n) {
    const ch = text.charCodeAt(i);
    if (inQuotes) {
      if (ch === 34 /* " */) {
        if (text.charCodeAt(i + 1) === 34) {
          field += '"';
          i += 2;
          continue;
        }
        inQuotes = false;
        i++;
        continue;
      }
      // copy a run of plain characters at once
      let j = i;
      while (j < n && text.charCodeAt(j) !== 34) {
        if (text.charCodeAt(j) === 10) line++;
        j++;
      }
      field += text.slice(i, j);
      i = j;
      continue;
    }
    if (ch === 34 && field === '') {
      inQuotes = true;
      i++;
    } else if (ch === 44 /* , */) {
      endField();
      i++;
    } else if (ch === 10 || ch === 13) {
      if (ch === 13 && text.charCodeAt(i + 1) === 10) i++;
      i++;
      line++;
      endRecord();
    } else {
      let j = i;
      while (j < n) {
        const c = text.charCodeAt(j);
        if (c === 44 || c === 10 || c === 13) break;
        j++;
      }
      field += text.slice(i, j);
      i = j;
    }
  }
  if (inQuotes) throw new Error(`${file}:${recordLine}: unterminated quoted field`);
  if (field !== '' || cells.length > 0) endRecord();
  const [head, ...rows] = records;
  if (!head) throw new Error(`${file}: empty CSV (no header row)`);
  return { header: head.cells, rows };
}
