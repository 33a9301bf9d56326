// Statistics, tables and number formats for benchmark reports (the first two shared with the host),
// and a process's resident memory.

import { readFileSync } from "node:fs";

export { percentile, median, geomean } from "../host/stats.js";
export { markdown, table } from "../host/text/table.js";

/** A figure with 2 or 0 decimals for a report ("-" when there is none). */
export const f2 = (n: number) => (Number.isFinite(n) ? n.toFixed(2) : "-");
export const f0 = (n: number) => (Number.isFinite(n) ? n.toFixed(0) : "-");
/** Text for an HTML report. */
export const escapeHtml = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;");

/** An HTML table of a header row and rows of cells, every text escaped. */
export const htmlTable = (header: string[], cells: string[][]): string =>
  `<table><tr>${header.map((h) => `<th>${escapeHtml(h)}</th>`).join("")}</tr>${cells
    .map((c) => `<tr>${c.map((v) => `<td>${escapeHtml(v)}</td>`).join("")}</tr>`)
    .join("")}</table>`;

/** A process's resident memory, MiB (from /proc; NaN where there is none). */
export function rssMiB(pid: number | undefined): number {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}
