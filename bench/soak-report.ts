// The soak benchmark's report (bench/soak.ts measures it): the targets judged,
// the summary and per-strategy tables (terminal and the README's markdown,
// bench/results/latest-soak.md).

import type { SoakResult } from "./soak.js";
import { f0, f2, markdown, table } from "./stats.js";

/** The targets of a full soak run (issue 10). */
export const SOAK_TARGETS = { migrations: 1000, rssGrowthMiB: 50 };

export interface SoakTarget {
  target: string;
  /** null: the run was too short to judge it */
  met: boolean | null;
  detail: string;
}

export function judgeSoak(r: SoakResult): SoakTarget[] {
  const worst = r.memory.reduce((a, m) => (m.growthAfterWarmMiB > a.growthAfterWarmMiB ? m : a), r.memory[0]);
  return [
    {
      target: `${SOAK_TARGETS.migrations} migrations in a row, none failed`,
      met: r.failed > 0 || r.stopped ? false : r.asked < SOAK_TARGETS.migrations ? null : r.completed >= SOAK_TARGETS.migrations,
      detail: `${r.completed} of ${r.done} completed${r.asked < SOAK_TARGETS.migrations ? ` (a run of ${r.asked})` : ""}`,
    },
    {
      target: "no output line lost or repeated",
      met: r.lines.lost === 0 && r.lines.repeated === 0 && r.lines.other.length === 0,
      detail: `${r.lines.received} lines, ${r.lines.lost} lost, ${r.lines.repeated} repeated${r.lines.other.length ? `; the guest said: ${r.lines.other[0]}` : ""}`,
    },
    {
      target: `RSS growth under ${SOAK_TARGETS.rssGrowthMiB} MiB per node (from the end of the warm-up)`,
      met: r.memory.every((m) => m.growthAfterWarmMiB < SOAK_TARGETS.rssGrowthMiB),
      detail: worst
        ? `most: node ${worst.node} ${f2(worst.growthAfterWarmMiB)} MiB (${f0(worst.warmMiB)} -> ${f0(worst.afterMiB)}; ${f0(worst.beforeMiB)} before the guest)`
        : "not measured",
    },
  ];
}

const SUMMARY = [
  "migrations",
  "completed",
  "failed",
  "lines",
  "lost",
  "repeated",
  "downtime p50 ms",
  "p99 ms",
  "max ms",
  "service gap p50 ms",
  "gap p99 ms",
  "total p50 ms",
  "RSS growth after warm-up MiB",
];

function summaryCells(r: SoakResult): string[] {
  return [
    String(r.done),
    String(r.completed),
    String(r.failed),
    String(r.lines.received),
    String(r.lines.lost),
    String(r.lines.repeated),
    f2(r.downtimeMs.p50),
    f2(r.downtimeMs.p99),
    f2(r.downtimeMs.max),
    f2(r.serviceGapMs.p50),
    f2(r.serviceGapMs.p99),
    f0(r.totalMs.p50),
    r.memory.map((m) => `${m.node} ${m.growthAfterWarmMiB >= 0 ? "+" : ""}${m.growthAfterWarmMiB.toFixed(1)}`).join(", "),
  ];
}

const STRATEGY = [
  "strategy",
  "completed",
  "failed",
  "downtime p50 ms",
  "p90 ms",
  "p99 ms",
  "max ms",
  "service gap p50 ms",
  "gap p99 ms",
  "total p50 ms",
  "total p99 ms",
];

function strategyRows(r: SoakResult): string[][] {
  return r.byStrategy.map((x) => [
    x.strategy,
    String(x.completed),
    String(x.failed),
    f2(x.downtime.p50),
    f2(x.downtime.p90),
    f2(x.downtime.p99),
    f2(x.downtime.max),
    f2(x.serviceGap.p50),
    f2(x.serviceGap.p99),
    f0(x.total.p50),
    f0(x.total.p99),
  ]);
}

const MEMORY = ["node", "RSS before MiB", "after warm-up MiB", "after MiB", "max MiB", "growth MiB", "growth after warm-up MiB"];
const memoryRows = (r: SoakResult) =>
  r.memory.map((m) => [m.node, f0(m.beforeMiB), f0(m.warmMiB), f0(m.afterMiB), f0(m.maxMiB), f2(m.growthMiB), f2(m.growthAfterWarmMiB)]);

export function soakText(r: SoakResult): string {
  const parts = [
    `Soak: ${r.done} migrations of a ${r.sizeMiB} MiB guest printing a line every ${r.lineMs} ms, among nodes ${r.nodes.join(", ")}, in ${r.durationS.toFixed(0)} s`,
    table(SUMMARY, [summaryCells(r)]),
    table(STRATEGY, strategyRows(r)),
    table(MEMORY, memoryRows(r)),
  ];
  if (r.stopped) parts.push(`stopped early: ${r.stopped}`);
  const reasons = Object.entries(r.reasons);
  if (reasons.length) parts.push("Failures by reason:\n" + reasons.map(([why, n]) => `  ${n} x ${why}`).join("\n"));
  parts.push(
    "Targets:\n" +
      judgeSoak(r)
        .map((t) => `  [${t.met === null ? "not judged" : t.met ? "met" : "NOT met"}] ${t.target}: ${t.detail}`)
        .join("\n"),
  );
  return parts.join("\n\n");
}

/** bench/results/latest-soak.md: the summary and the strategies, in markdown. */
export function soakMarkdown(r: SoakResult): string {
  return [
    `Soak (${r.when.slice(0, 10)}): ${r.done} migrations of a ${r.sizeMiB} MiB guest among ${r.nodes.length} nodes, ` +
      `mixed strategies (${r.byStrategy.map((x) => x.strategy).join(", ")}), ${r.durationS.toFixed(0)} s.`,
    "",
    markdown(SUMMARY, [summaryCells(r)]),
    "",
    markdown(STRATEGY, strategyRows(r)),
    "",
    markdown(MEMORY, memoryRows(r)),
  ].join("\n");
}
