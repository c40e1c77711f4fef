// Aligned plain-text tables for command output: columns padded to their widest cell, the last
// column free to run long. Cells are single-line; a row may be followed by indented note lines.

export interface TableRow {
  readonly cells: readonly string[];
  /** Lines printed under the row, aligned with its last column. */
  readonly notes?: readonly string[];
}

export function formatTable(header: readonly string[], rows: readonly TableRow[]): string {
  const all = [header, ...rows.map((r) => r.cells)];
  const widths = header.map((_, i) => Math.max(...all.map((cells) => (cells[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  const indent = ' '.repeat(widths.slice(0, -1).reduce((sum, w) => sum + w + 2, 0));
  const out = [line(header)];
  for (const row of rows) {
    out.push(line(row.cells));
    for (const note of row.notes ?? []) out.push(`${indent}${note}`);
  }
  return `${out.join('\n')}\n`;
}
