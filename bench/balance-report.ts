// The balance benchmark's report (bench/balance.ts measures it): one table of
// the modes side by side (terminal, the README's markdown in
// bench/results/latest-balance.md, HTML), and the HTML page with the
// makespans and, per mode, a timeline of the processes on each node.

import type { BalanceResult, ModeRun } from "./balance.js";
import { barChart, stackedChart } from "./charts.js";
import { htmlPage } from "./report.js";
import { escapeHtml, f2, htmlTable, markdown, table } from "./stats.js";

export const BALANCE_HEADER = [
  "mode",
  "jobs",
  "makespan s",
  "/ off",
  "mean completion s",
  "/ off",
  "migrations",
  "moved / taken / failed",
  "outputs intact",
];

const s1 = (ms: number) => (Number.isFinite(ms) ? (ms / 1000).toFixed(1) : "-");

/** The balancer's counters summed over the nodes, "-" when no node reported them. */
function counters(x: ModeRun): string {
  const all = Object.values(x.balance).filter((b) => b !== null);
  if (!all.length) return "-";
  const sum = (k: "moved" | "received" | "failed") => all.reduce((a, b) => a + b[k], 0);
  return `${sum("moved")} / ${sum("received")} / ${sum("failed")}`;
}

export function balanceCells(r: BalanceResult): string[][] {
  const off = r.runs.find((x) => x.mode === "off");
  return r.runs.map((x) => [
    x.mode,
    String(x.jobs.length),
    s1(x.makespanMs),
    off ? f2(x.makespanMs / off.makespanMs) : "-",
    s1(x.meanCompletionMs),
    off ? f2(x.meanCompletionMs / off.meanCompletionMs) : "-",
    String(x.migrations),
    counters(x),
    `${x.jobs.filter((j) => j.intact).length}/${x.jobs.length}`,
  ]);
}

/** What was run, in a sentence. */
export function balanceAbout(r: BalanceResult): string {
  const units = r.jobs.map((j) => Number(j[0]));
  return (
    `${r.jobs.length} CPU-bound jobs (${Math.min(...units)} to ${Math.max(...units)} units of ${Number(r.jobs[0][1]) / 1e6}M rounds) ` +
    `all started on node ${r.nodes[0]} of ${r.nodes.length} (${r.nodes.join(", ")}), ` +
    `a fresh cluster per balancer mode (nodes: ${r.nodeArgs.join(" ")} --balance MODE)${r.quick ? " (quick)" : ""}`
  );
}

/** Why each node is given one cpu, and what bounds the balanced runs. */
const WHY_CPUS = (r: BalanceResult) =>
  `Each node's capacity is --cpus ${r.cpusPerNode}: beyond it a node holds its guests in turns, so without the balancer ` +
  `the batch runs at ${r.nodes[0]}'s ${r.cpusPerNode} cpu, as it would on a machine of its own, though this machine has ` +
  `${r.machine.cpus} cores. One cpu is the least a node can have and still take a CPU-bound job (the balancer moves a ` +
  `process only where it fits: demand + 1 <= cpus). Spread over the ${r.nodes.length} nodes the batch could use ` +
  `${r.cpusPerNode * r.nodes.length} cpus, but the nodes share this machine's ${r.machine.cpus} cores: the balanced runs are ` +
  `bounded by the machine, so they gain less than ${r.nodes.length} machines would.`;

function failureLines(r: BalanceResult): string[] {
  return r.runs.flatMap((x) => x.failures.map((f) => `${x.mode}: ${f}`));
}

export function balanceText(r: BalanceResult): string {
  const parts = [`Balancing: ${balanceAbout(r)}; ${r.durationS.toFixed(0)} s in all`, table(BALANCE_HEADER, balanceCells(r))];
  const failures = failureLines(r);
  parts.push(
    failures.length ? `FAILURES:\n${failures.map((f) => `  ${f}`).join("\n")}` : "Every job ended, with the output of an unmoved run.",
  );
  return parts.join("\n\n");
}

/** bench/results/latest-balance.md. */
export function balanceMarkdown(r: BalanceResult): string {
  return [`Balancing (${r.when.slice(0, 10)}): ${balanceAbout(r)}.`, "", markdown(BALANCE_HEADER, balanceCells(r))].join("\n");
}

/** Running jobs per node over time, stacked; every mode on the same axes. */
function timelineChart(r: BalanceResult, x: ModeRun): Promise<string> {
  return stackedChart({
    title: `${x.mode}: jobs running on each node (makespan ${s1(x.makespanMs)} s, ${x.migrations} migrations)`,
    xLabel: "s after the first job started",
    yLabel: "jobs running",
    x: x.timeline.map((p) => p.t / 1000),
    series: r.nodes.map((n) => ({ name: n, values: x.timeline.map((p) => p.on.filter((w) => w === n).length) })),
    width: 580,
    height: 260,
    // every mode on one scale
    xMax: Math.max(...r.runs.map((m) => m.timeline[m.timeline.length - 1]?.t ?? 0)) / 1000,
    yMax: r.jobs.length,
  });
}

const escape = escapeHtml;

/** The HTML section: what was run and why the capacities, the table, makespans by mode, each mode's timeline, failures and the balancer's log lines. */
export async function balanceSection(r: BalanceResult): Promise<string> {
  const table = `<div class="scroll">${htmlTable(BALANCE_HEADER, balanceCells(r))}</div>`;
  const times = await barChart({
    title: "The batch by balancer mode",
    yLabel: "s",
    categories: r.runs.map((x) => x.mode),
    series: [
      { name: "makespan", values: r.runs.map((x) => x.makespanMs / 1000) },
      { name: "mean completion", values: r.runs.map((x) => x.meanCompletionMs / 1000) },
    ],
  });
  const failures = failureLines(r);
  const events = r.runs
    .filter((x) => x.events.length)
    .map((x) => `<h3>${escape(x.mode)}</h3><pre>${escape(x.events.slice(0, 40).join("\n"))}</pre>`);
  return `<h2>Balancing: ${escape(balanceAbout(r))}</h2>
<p>${escape(WHY_CPUS(r))}</p>
<p>Makespan: from the first job's start to the last one's end. Mean completion: a job's end less its start, averaged. Migrations: the jobs' moves as ps counts them; moved / taken / failed: the balancers' own counters, summed over the nodes. Outputs intact: jobs whose output equals an unmoved run's of the same arguments.</p>
${table}
${failures.length ? `<h3>Failures</h3><ul>${failures.map((f) => `<li>${escape(f)}</li>`).join("")}</ul>` : "<p>Every job ended, with the output of an unmoved run.</p>"}
${times}
<h3>Jobs running on each node over time (sampled through ps every 250 ms)</h3><div class="grid">${(await Promise.all(r.runs.map((x) => timelineChart(r, x)))).join("")}</div>
${events.length ? `<h3>What the balancers logged (the first 40 lines of each mode)</h3>${events.join("")}` : ""}`;
}

/** bench/results/<date>-balance.html. */
export async function balanceHtml(r: BalanceResult): Promise<string> {
  return htmlPage(
    `migrant balance benchmark ${escape(r.when)}`,
    "migrant: load balancing benchmark",
    `${escape(r.when)} · ${r.machine.cpus} cores`,
    [await balanceSection(r)],
  );
}
