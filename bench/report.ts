// The benchmark's outputs from one BenchResult: the table printed on the
// terminal (and pasted in the README as markdown), the downtime chart, and a
// self-contained HTML report (inline SVG, no script) with every chart.

import { escapeHtml, f0, f2, htmlTable, markdown, table } from "./stats.js";
import { barChart, lineChart, type Series } from "./charts.js";
import { judgeTargets, linkMBps, type BenchResult } from "./result.js";
import type { SuiteRow } from "./suite.js";
import type { OverheadRow } from "./overhead.js";
import type { Variant } from "../host/instrument/variants.js";
import type { Floor } from "./floor.js";
import { MESSAGING_HEADER, messagingCells, messagingSection } from "./messaging-report.js";

export const HEADER = [
  "workload",
  "MiB",
  "strategy",
  "runs",
  "downtime p50 ms",
  "p99 ms",
  "/ RTT",
  "source ms",
  "switch ms",
  "back ms",
  "max pause ms",
  "total ms",
  "wire / mem",
  "rounds",
  "faults",
  "fault p50/p99 us",
  "MB/s",
  "/ link",
  "lost ms",
  "throttle % / ms",
  "kv gap ms",
  "auto: chose, predicted down/lost ms",
];

export function rowCells(x: SuiteRow, r: BenchResult): string[] {
  return [
    x.workload,
    String(x.sizeMiB),
    x.strategy,
    x.failed ? `${x.runs - x.failed}/${x.runs}` : String(x.runs),
    f2(x.downtimeP50Ms),
    x.runs - x.failed > 1 ? f2(x.downtimeP99Ms) : "1 run", // a p99 of one run is that run: say so
    f0(x.downtimeP50Ms / (r.floor.rttP50Us / 1000)),
    f2(x.handoverP50Ms),
    f2(x.switchPauseP50Ms),
    f2(x.switchBackPauseP50Ms),
    f2(x.maxPauseMs),
    f0(x.totalP50Ms),
    f2(x.wireRatio),
    f0(x.rounds),
    f0(x.faults),
    x.faults ? `${f0(x.faultP50Us)}/${f0(x.faultP99Us)}` : "-",
    f0(x.mbps),
    f2(x.mbps / linkMBps(r.floor)),
    f0(x.lostMsP50),
    x.throttlePct ? `${x.throttlePct}/${f0(x.throttledMsP50)}` : "-",
    x.longestGapMs === null ? "" : f0(x.longestGapMs),
    x.auto ? `${x.auto.chose} ${f2(x.auto.predictedDowntimeMs)}/${f0(x.auto.predictedLostMs)}` : "",
  ];
}

export function floorLine(f: Floor): string {
  return `ws RTT p50 ${(f.rttP50Us / 1000).toFixed(3)} ms (p99 ${(f.rttP99Us / 1000).toFixed(3)}), ws ${f0(f.upMBps)} MB/s up / ${f0(f.downMBps)} MB/s down, memcpy ${f0(f.memcpyMBps)} MB/s`;
}

export function textReport(r: BenchResult): string {
  const parts: string[] = [];
  parts.push(`Floor of this machine: ${floorLine(r.floor)}`);
  if (r.rows.length)
    parts.push(
      table(
        HEADER,
        r.rows.map((x) => rowCells(x, r)),
      ),
    );
  if (r.overhead) {
    parts.push(
      `Instrumentation overhead (run time / uninstrumented build: the median of ${r.overhead.rows[0]?.reps ?? 0} interleaved repetitions, and the lowest-highest of one)`,
    );
    const x = (n: number) => `x${n.toFixed(2)}`;
    const xs = (o: OverheadRow, v: Variant) => `${x(o.ratio[v])} (${o.spread[v][0].toFixed(2)}-${o.spread[v][1].toFixed(2)})`;
    parts.push(
      table(
        ["workload", "baseline ms", "plain", "track", "postcopy"],
        [
          ...r.overhead.rows.map((o) => [o.guest, f0(o.baselineMs), xs(o, "plain"), xs(o, "track"), xs(o, "postcopy")]),
          ["geomean", "", x(r.overhead.geomean.plain), x(r.overhead.geomean.track), x(r.overhead.geomean.postcopy)],
        ],
      ),
    );
  }
  if (r.messaging) parts.push("Messages between processes: the forwarding mechanisms\n" + table(MESSAGING_HEADER, messagingCells(r)));
  parts.push(
    "Targets\n" +
      judgeTargets(r)
        .map((t) => `  ${t.met === null ? "n/a " : t.met ? "met " : "NOT "} ${t.target}: ${t.detail}`)
        .join("\n"),
  );
  return parts.join("\n\n");
}

export function markdownTable(r: BenchResult): string {
  return markdown(
    HEADER,
    r.rows.map((x) => rowCells(x, r)),
  );
}

const sizesOf = (r: BenchResult) => [...new Set(r.rows.map((x) => x.sizeMiB))].sort((a, b) => a - b);
const workloadsOf = (r: BenchResult) => [...new Set(r.rows.map((x) => x.workload))];
const strategiesOf = (r: BenchResult) => [...new Set(r.rows.map((x) => x.strategy))];

/** Downtime p50 by workload (groups) and strategy (bars) at one size, log scale. */
export function downtimeChart(r: BenchResult, size: number): string {
  const rows = r.rows.filter((x) => x.sizeMiB === size);
  const workloads = workloadsOf(r).filter((w) => rows.some((x) => x.workload === w));
  return barChart({
    title: `Downtime p50 at ${size} MiB, by workload and strategy (log scale)`,
    yLabel: "downtime ms",
    categories: workloads,
    series: strategiesOf(r).map((s) => ({
      name: s,
      values: workloads.map((w) => rows.find((x) => x.workload === w && x.strategy === s)?.downtimeP50Ms ?? null),
    })),
    log: true,
    line: { y: 2, label: "2 ms target" },
  });
}

function precopyRoundsChart(r: BenchResult, size: number, strategy: string): string {
  const series: Series[] = r.suite.runs
    .filter((x) => x.sizeMiB === size && x.strategy === strategy && x.rep === 0)
    .map((x) => ({ name: x.workload, points: x.stats.pagesPerRound.map((p, i) => [i + 1, p] as [number, number]) }));
  return lineChart({
    title: `${strategy}: pages sent per round at ${size} MiB (last round of pre-copy is the stop-and-copy)`,
    xLabel: "round",
    yLabel: "pages",
    series,
  });
}

function faultsChart(r: BenchResult, size: number): string {
  const series: Series[] = r.suite.runs
    .filter((x) => x.sizeMiB === size && x.strategy === "postcopy" && x.rep === 0 && x.stats.faultTimesMs.length)
    .map((x) => ({ name: x.workload, points: x.stats.faultTimesMs.map((t, i) => [t, i + 1] as [number, number]) }));
  return lineChart({
    title: `post-copy: pages faulted in over time at ${size} MiB (cumulative)`,
    xLabel: "ms after resuming on the destination",
    yLabel: "faults",
    series,
  });
}

function progressChart(r: BenchResult, size: number, workload: string): string {
  const runs = r.suite.runs.filter((x) => x.sizeMiB === size && x.workload === workload && x.rep === 0);
  const series: Series[] = runs.map((x) => ({
    name: x.strategy,
    points: x.progress.map((v, i) => [i * r.suite.bucketMs - r.suite.settleMs, v] as [number, number]),
  }));
  return lineChart({
    title: `${workload} ${size} MiB: progress rate around the migration (1 = before it)`,
    xLabel: "ms after the migration started",
    yLabel: "rate / rate before",
    series,
    width: 560,
    height: 240,
    marks: [{ x: 0, label: "start" }],
  });
}

const escape = escapeHtml;

/** The downtime suite's sections of the HTML report. */
function suiteSections(r: BenchResult, sizes: number[], main: number): string[] {
  const sections: string[] = [];
  sections.push(`<h2>Downtime</h2>${sizes.map((s) => downtimeChart(r, s)).join("")}`);
  sections.push(`<h2>Every figure</h2>${htmlTable(
    HEADER,
    r.rows.map((x) => rowCells(x, r)),
  )}
<p>downtime: source frozen until the destination runs it. / RTT: downtime over the ws round trip. wire / mem: bytes on the wire over the guest's linear memory. / link: stream rate over the measured ws rate. lost ms: progress the workload lost to the migration, in ms of its rate before (covers the migration and ${r.suite.settleMs} ms after it). kv gap: the longest time between two completed kvstore requests during the migration and ${r.suite.settleMs} ms after.</p>`);
  for (const s of ["precopy", "hybrid"])
    if (r.rows.some((x) => x.strategy === s))
      sections.push(`<h2>${s}: pages per round</h2>${sizes.map((z) => precopyRoundsChart(r, z, s)).join("")}`);
  if (r.rows.some((x) => x.strategy === "postcopy"))
    sections.push(`<h2>Post-copy faults over time</h2>${sizes.map((z) => faultsChart(r, z)).join("")}`);
  sections.push(
    `<h2>Progress around the migration (${main} MiB, first run of each strategy)</h2><div class="grid">${workloadsOf(r)
      .map((w) => progressChart(r, main, w))
      .join("")}</div>`,
  );
  return sections;
}

export function htmlReport(r: BenchResult): string {
  const sizes = sizesOf(r);
  const main = sizes.includes(64) ? 64 : sizes[0];
  const sections: string[] = [];
  const targets = judgeTargets(r);
  sections.push(
    `<h2>Targets</h2><ul>${targets.map((t) => `<li class="${t.met === null ? "na" : t.met ? "met" : "not"}"><b>${t.met === null ? "n/a" : t.met ? "met" : "not met"}</b> — ${escape(t.target)}: ${escape(t.detail)}</li>`).join("")}</ul>`,
  );
  sections.push(`<h2>Floor of this machine</h2><p>${escape(floorLine(r.floor))}</p>`);
  if (r.rows.length) sections.push(...suiteSections(r, sizes, main));
  if (r.overhead) {
    const o = r.overhead;
    sections.push(
      barChart({
        title: "Instrumentation overhead: run time / uninstrumented build",
        yLabel: "ratio",
        categories: [...o.rows.map((x) => x.guest), "geomean"],
        series: (["plain", "track", "postcopy"] as const).map((v) => ({
          name: v,
          values: [...o.rows.map((x) => x.ratio[v]), o.geomean[v]],
        })),
        line: { y: 1.5, label: "1.5x target" },
      }),
    );
  }
  if (r.messaging) sections.push(messagingSection(r));
  if (r.suite.skipped.length)
    sections.push(
      `<h2>Not measured</h2><ul>${r.suite.skipped.map((s) => `<li>${escape(`${s.workload} ${s.sizeMiB} MiB: ${s.reason}`)}</li>`).join("")}</ul>`,
    );
  const link =
    r.link && "rate" in r.link
      ? `over two network namespaces joined by a veth capped at ${r.link.rate}${r.link.delayMs ? ` with ${r.link.delayMs} ms delay` : ""}${r.link.notes.length ? ` (${r.link.notes.join("; ")})` : ""}`
      : r.link && "refused" in r.link
        ? `on loopback (${r.link.refused})`
        : "on loopback";
  const about = `${escape(r.when)} · ${r.machine.cpus} × ${escape(r.machine.cpu ?? "cpu")} · Node ${escape(r.machine.node)} · ${escape(link)} · ${r.rows.length ? `workloads ${escape(r.options.workloads.join(", "))} · sizes ${r.options.sizes.join(", ")} MiB · ${r.options.reps} runs each` : "no downtime suite in this run"}${r.options.quick ? " (quick mode)" : ""}`;
  return htmlPage(`migrant benchmark ${escape(r.when)}`, "migrant: live migration benchmark", about, sections);
}

/** A self-contained report page (the benchmark's, the balance benchmark's): its title, heading, a line about the run (HTML), sections (HTML). */
export function htmlPage(title: string, heading: string, about: string, sections: string[]): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title>
<style>body{font-family:sans-serif;max-width:1200px;margin:2em auto;color:#222}table{border-collapse:collapse;font-size:12px}td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}th{background:#f4f4f4}.met b{color:#080}.not b{color:#c00}.na b{color:#888}.grid{display:flex;flex-wrap:wrap;gap:8px}svg{margin:6px 0}pre{font-size:11px;background:#f8f8f8;padding:6px;overflow-x:auto}</style></head>
<body><h1>${escape(heading)}</h1>
<p>${about}</p>
${sections.join("\n")}
</body></html>
`;
}
