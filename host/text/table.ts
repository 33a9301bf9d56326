// Plain-text tables: first column left-aligned, the others right-aligned;
// and the same as markdown (the README's figures).

export function table(head: string[], rows: (string | number)[][]): string {
  const cells = [head, ...rows.map((r) => r.map(String))];
  const w = head.map((_, i) => Math.max(...cells.map((r) => r[i].length)));
  return cells.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join("  ")).join("\n");
}

/** A markdown table: the head, its rule, and the rows. */
export function markdown(head: string[], rows: (string | number)[][]): string {
  return [head, head.map(() => "---"), ...rows.map((r) => r.map(String))].map((c) => `| ${c.join(" | ")} |`).join("\n");
}
