// The downtime suite's charts (charts.ts renders them): downtime by workload
// and strategy against the floor, downtime against memory size, post-copy's
// fault latency as a distribution and its faults over time, pre-copy's rounds
// with the stop-and-copy marked, the dirty rate beside the stream and link
// rates, and the progress rate around each migration. Each takes the runs
// without --compress (compression-report.ts has those), the first run of
// each kind where a chart shows single runs.

import { barChart, lineChart, timelineChart, type Rule, type Series } from "./charts.js";
import { linkMBps, rttMs, type BenchResult } from "./result.js";
import { strategyLabel, type MigrationRun, type SuiteRow } from "./suite.js";

/** The workloads' page size (4 KiB: the default build) for turning pages/s into MB/s. */
const PAGE_BYTES = 4096;
/** The most points a CDF series keeps (every fault's latency is recorded; the chart needs no more). */
const CDF_POINTS = 400;

const plainRows = (r: BenchResult) => r.rows.filter((x) => !x.compress);
const firstRuns = (r: BenchResult, size: number) => r.suite.runs.filter((x) => x.sizeMiB === size && !x.compress && x.rep === 0);
const workloadsOf = (rows: Array<{ workload: string }>) => [...new Set(rows.map((x) => x.workload))];

/** The floor lines of a downtime axis: the ws round trip, the fastest freeze measured (the least transfer), and the target. */
function downtimeFloor(r: BenchResult, rows: SuiteRow[]): Rule[] {
  const rules: Rule[] = [{ y: rttMs(r.floor), label: `ws round trip ${rttMs(r.floor).toFixed(3)} ms` }];
  const freezes = rows.filter((x) => x.strategy === "freeze" && Number.isFinite(x.downtimeP50Ms));
  const least = freezes.sort((a, b) => a.mbSent - b.mbSent)[0];
  if (least) rules.push({ y: least.downtimeP50Ms, label: `freeze of ${least.workload} (${least.mbSent.toFixed(1)} MB)` });
  rules.push({ y: 1, label: "1 ms target" });
  return rules;
}

/** Downtime p50 by workload (groups) and strategy (bars) at one size, log scale, over the floor lines. */
export function downtimeChart(r: BenchResult, size: number): Promise<string> {
  const rows = plainRows(r).filter((x) => x.sizeMiB === size);
  const workloads = workloadsOf(rows);
  const strategies = [...new Set(rows.map(strategyLabel))];
  return barChart({
    title: `Downtime p50 at ${size} MiB, by workload and strategy (log scale)`,
    yLabel: "downtime ms",
    categories: workloads,
    series: strategies.map((s) => ({
      name: s,
      values: workloads.map((w) => rows.find((x) => x.workload === w && strategyLabel(x) === s)?.downtimeP50Ms ?? null),
    })),
    log: true,
    rules: downtimeFloor(r, rows),
    width: 760,
  });
}

/** Downtime p50 against memory size (both log), one chart per strategy, a line per workload; none with one size. */
export function downtimeBySizeCharts(r: BenchResult): Promise<string[]> {
  const rows = plainRows(r);
  if (new Set(rows.map((x) => x.sizeMiB)).size < 2) return Promise.resolve([]);
  const strategies = [...new Set(rows.map(strategyLabel))];
  return Promise.all(
    strategies.map((s) =>
      lineChart({
        title: `${s}: downtime p50 against memory size`,
        xLabel: "guest memory MiB",
        yLabel: "downtime ms",
        xLog: true,
        yLog: true,
        width: 420,
        height: 220,
        series: workloadsOf(rows).map((w) => ({
          name: w,
          points: rows
            .filter((x) => x.workload === w && strategyLabel(x) === s)
            .sort((a, b) => a.sizeMiB - b.sizeMiB)
            .map((x) => [x.sizeMiB, x.downtimeP50Ms] as [number, number]),
        })),
        rules: [{ y: rttMs(r.floor), label: "ws round trip" }],
      }),
    ),
  );
}

/** The fraction of faults answered within each latency, as a step line (at most CDF_POINTS points). */
function cdf(latenciesUs: number[]): Array<[number, number]> {
  const sorted = [...latenciesUs].sort((a, b) => a - b);
  const step = Math.max(1, Math.ceil(sorted.length / CDF_POINTS));
  const out: Array<[number, number]> = [];
  for (let i = 0; i < sorted.length; i += step) out.push([Math.max(sorted[i], 1) / 1000, (i + 1) / sorted.length]);
  if (sorted.length) out.push([Math.max(sorted[sorted.length - 1], 1) / 1000, 1]);
  return out;
}

/** Post-copy fault latency as a distribution (log x), a line per workload, against the round trip and the targets. */
export async function faultLatencyChart(r: BenchResult, size: number): Promise<string> {
  const runs = firstRuns(r, size).filter((x) => x.strategy === "postcopy" && x.stats.faultLatenciesUs?.length);
  if (!runs.length) return `<p>No post-copy fault latencies recorded at ${size} MiB in this run.</p>`;
  return lineChart({
    title: `post-copy at ${size} MiB: fault latency, the share of faults answered within it (first run, every fault)`,
    xLabel: "fault latency ms (log)",
    yLabel: "share of faults",
    xLog: true,
    points: false,
    step: true,
    series: runs.map((x) => ({ name: `${x.workload} (${x.stats.faultLatenciesUs.length})`, points: cdf(x.stats.faultLatenciesUs) })),
    rules: [
      { x: rttMs(r.floor), label: "ws round trip" },
      { x: 0.5, label: "p50 target" },
      { x: 2, label: "p99 target" },
    ],
    width: 760,
    height: 260,
  });
}

export function faultsChart(r: BenchResult, size: number): Promise<string> {
  const series: Series[] = firstRuns(r, size)
    .filter((x) => x.strategy === "postcopy" && x.stats.faultTimesMs.length)
    .map((x) => ({ name: x.workload, points: x.stats.faultTimesMs.map((t, i) => [t, i + 1] as [number, number]) }));
  return lineChart({
    title: `post-copy: pages faulted in over time at ${size} MiB (cumulative)`,
    xLabel: "ms after resuming on the destination",
    yLabel: "faults",
    points: false,
    step: true,
    series,
  });
}

/** Pages per round, log scale; each run's last round is its stop-and-copy (pre-copy) or what post-copy took over (hybrid). */
export function roundsChart(r: BenchResult, size: number, strategy: string): Promise<string> {
  const runs = firstRuns(r, size).filter((x) => x.strategy === strategy);
  const series: Series[] = runs.map((x) => ({
    name: x.workload,
    points: x.stats.pagesPerRound.map((p, i) => [i + 1, p] as [number, number]),
  }));
  const last = strategy === "precopy" ? "stop-and-copy" : "last round before post-copy";
  return lineChart({
    title: `${strategy} at ${size} MiB: pages sent per round (log; ringed: the ${last})`,
    xLabel: "round",
    yLabel: "pages",
    yLog: true,
    series,
    callouts: runs
      .filter((x) => x.stats.pagesPerRound.length)
      .map((x) => ({ name: x.workload, x: x.stats.pagesPerRound.length, y: x.stats.pagesPerRound[x.stats.pagesPerRound.length - 1] })),
  });
}

/** The rate each workload dirtied memory in its last pre-copy round, beside the stream's rate and the link's. */
export function dirtyRateChart(r: BenchResult, size: number): Promise<string> {
  const runs = firstRuns(r, size).filter((x) => x.strategy === "precopy");
  return barChart({
    title: `pre-copy at ${size} MiB: dirty rate in the last round beside the page stream's rate (4 KiB pages)`,
    yLabel: "MB/s",
    categories: runs.map((x) => x.workload),
    series: [
      { name: "dirty rate", values: runs.map((x) => (x.stats.dirtyRate * PAGE_BYTES) / 1e6) },
      { name: "page stream", values: runs.map((x) => x.stats.mbps) },
    ],
    log: true,
    rules: [{ y: linkMBps(r.floor), label: `ws link ${linkMBps(r.floor).toFixed(0)} MB/s` }],
  });
}

/** A workload's progress rate around its migrations (1 = the rate before), a line per strategy; the start and each end marked. */
export function progressChart(r: BenchResult, size: number, workload: string): Promise<string> {
  const runs: MigrationRun[] = r.suite.runs.filter((x) => x.sizeMiB === size && x.workload === workload && x.rep === 0);
  return lineChart({
    title: `${workload} ${size} MiB: progress rate around the migration (${r.suite.bucketMs} ms buckets; dashed: each one's end)`,
    xLabel: "ms after the migration started",
    yLabel: "rate / rate before",
    points: false,
    series: runs.map((x) => ({
      name: strategyLabel(x),
      points: x.progress.map((v, i) => [i * r.suite.bucketMs - r.suite.settleMs, v] as [number, number]),
    })),
    width: 440,
    height: 200,
    marks: [{ x: 0, label: "start" }],
    ends: runs.map((x) => ({ name: strategyLabel(x), x: x.endMs })),
  });
}

/**
 * One migration by each strategy, as the source's steps over time (round n:
 * "rounds"), of kvstore if it ran (it takes every step), else of the first
 * workload with steps; "" when no run has them.
 */
export async function migrationTimeline(r: BenchResult, size: number): Promise<string> {
  const timed = firstRuns(r, size).filter((x) => x.stats.phases?.length);
  const workload = timed.find((x) => x.workload === "kvstore")?.workload ?? timed[0]?.workload;
  if (workload === undefined) return "";
  const runs = timed.filter((x) => x.workload === workload);
  return timelineChart({
    title: `${workload} ${size} MiB: one migration by each strategy, step by step on the source (hover for each step's length)`,
    xLabel: "ms after the migration began",
    steps: runs.flatMap((x) =>
      x.stats.phases.map((p) => ({
        lane: x.strategy,
        name: p.name,
        kind: p.name.replace(/^round \d+$/, "rounds"),
        start: p.startMs,
        end: Math.max(p.endMs, p.startMs + 0.05), // a step of no length still shows
      })),
    ),
    height: 30 * Math.max(1, runs.length),
    width: 760,
  });
}
