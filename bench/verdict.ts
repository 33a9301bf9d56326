// The verdict table the report opens with: per workload and strategy at one
// memory size, what a guest's users feel — the downtime, every other pause
// (the switch to tracking, the switch back), the longest service gap
// (kvstore's longest time between two completed requests) and the progress
// lost — with the best choice per workload marked: the strategy that lost the
// least progress (then the shortest downtime). A guest loses at least the
// time it was paused, so the choice counts that much where the measured loss
// is less (it goes below by noise: a workload's rate varies). Without
// --compress rows, as the targets judge them.

import { escapeHtml, f0, f2, markdown, table } from "./stats.js";
import type { BenchResult } from "./result.js";
import { lostLabel, type SuiteRow } from "./suite.js";

export const VERDICT_HEADER = ["workload", "strategy", "downtime ms", "other pauses ms", "service gap ms", "progress lost ms", "best"];

/** The rows at `size`, and the best one per workload. */
function verdictRows(r: BenchResult, size: number): Array<{ x: SuiteRow; best: boolean }> {
  const rows = r.rows.filter((x) => x.sizeMiB === size && !x.compress);
  const best = new Map<string, SuiteRow>();
  const lost = (x: SuiteRow) => Math.max(x.lostMsP50, x.pausesP50Ms);
  for (const x of rows) {
    if (x.failed === x.runs || !Number.isFinite(x.lostMsP50)) continue;
    const b = best.get(x.workload);
    if (!b || lost(x) < lost(b) || (lost(x) === lost(b) && x.downtimeP50Ms < b.downtimeP50Ms)) best.set(x.workload, x);
  }
  return rows.map((x) => ({ x, best: best.get(x.workload) === x }));
}

function cells(x: SuiteRow, best: boolean): string[] {
  const other = [
    x.switchPauseP50Ms ? `switch ${f2(x.switchPauseP50Ms)}` : "",
    x.switchBackPauseP50Ms ? `back ${f2(x.switchBackPauseP50Ms)}` : "",
  ];
  return [
    x.workload,
    x.strategy + (x.auto ? ` (${x.auto.chose})` : "") + (x.failed ? ` ${x.failed}/${x.runs} failed` : ""),
    f2(x.downtimeP50Ms),
    other.filter(Boolean).join(", ") || "-",
    x.longestGapMs === null ? "-" : f0(x.longestGapMs),
    lostLabel(x),
    best ? "best" : "",
  ];
}

/** The size the verdict is given at: 64 MiB if measured, else the smallest. */
export function verdictSize(r: BenchResult): number | null {
  const sizes = [...new Set(r.rows.map((x) => x.sizeMiB))].sort((a, b) => a - b);
  return sizes.includes(64) ? 64 : (sizes[0] ?? null);
}

export function verdictText(r: BenchResult, size: number): string {
  return table(
    VERDICT_HEADER,
    verdictRows(r, size).map(({ x, best }) => cells(x, best)),
  );
}

export function verdictMarkdown(r: BenchResult, size: number): string {
  return markdown(
    VERDICT_HEADER,
    verdictRows(r, size).map(({ x, best }) => cells(x, best).map((c, i) => (best && i < 6 ? `**${c}**` : c))),
  );
}

/** The HTML table, the best row of each workload highlighted, in a box that scrolls on a narrow screen. */
export function verdictHtml(r: BenchResult, size: number): string {
  const head = `<tr>${VERDICT_HEADER.map((h) => `<th>${escapeHtml(h)}</th>`).join("")}</tr>`;
  const body = verdictRows(r, size)
    .map(
      ({ x, best }) =>
        `<tr${best ? ' class="best"' : ""}>${cells(x, best)
          .map((c) => `<td>${escapeHtml(c)}</td>`)
          .join("")}</tr>`,
    )
    .join("");
  return `<h2>Verdict at ${size} MiB: what the guest's users feel</h2><div class="scroll"><table class="verdict">${head}${body}</table></div>
<p>downtime: the guest's pause at the handover (its last instruction on the source to its first on the destination). other pauses: the switch to the tracking variant and the switch back to plain. service gap: kvstore's longest time between two completed requests, during the migration and ${r.suite.settleMs} ms after. progress lost: work the steady rate would have done in that window and was not done, in ms of that rate; the steady rate is the mean of the undisturbed ${r.suite.steadyMs} ms before the migration and after that window, and ± is what those two disagree by over the window (a loss within it is not told apart from none). best: the least progress lost for the workload, counting at least its pauses (then the shortest downtime). p50 of the runs.</p>`;
}
