// Statistics, tables and number formats for benchmark reports (the first two shared with the host).

export { percentile, median, geomean } from "../host/stats.js";
export { table } from "../host/text/table.js";

/** A figure with 2 or 0 decimals for a report ("-" when there is none). */
export const f2 = (n: number) => (Number.isFinite(n) ? n.toFixed(2) : "-");
export const f0 = (n: number) => (Number.isFinite(n) ? n.toFixed(0) : "-");
/** Text for an HTML report. */
export const escapeHtml = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;");
