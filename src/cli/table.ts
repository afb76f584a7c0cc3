/** Rows as aligned columns, two spaces apart, the last column unpadded; one line each. */
export function formatTable(rows: readonly (readonly string[])[]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i]?.length ?? 0)));
  return rows
    .map(
      (r) =>
        `${r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]))).join('  ')}\n`,
    )
    .join('');
}
