// The benchmark's outputs from one BenchResult: the tables printed on the
// terminal (the verdict and every figure; latest.md has them as markdown for
// the README) and a self-contained HTML report (inline SVG rendered from
// Vega-Lite, no script) that opens with the verdict and has every chart
// (suite-charts.ts).

import { escapeHtml, f0, f2, htmlTable, markdown, table } from "./stats.js";
import { barChart } from "./charts.js";
import { judgeTargets, linkMBps, rttMs, type BenchResult } from "./result.js";
import { lostLabel, strategyLabel, type SuiteRow } from "./suite.js";
import { verdictHtml, verdictMarkdown, verdictSize, verdictText } from "./verdict.js";
import {
  dirtyRateChart,
  downtimeBySizeCharts,
  downtimeChart,
  faultLatencyChart,
  faultsChart,
  migrationTimeline,
  progressChart,
  roundsChart,
} from "./suite-charts.js";
import type { OverheadRow } from "./overhead.js";
import type { Variant } from "../host/instrument/variants.js";
import type { Floor } from "./floor.js";
import { MESSAGING_HEADER, messagingCells, messagingSection } from "./messaging-report.js";
import { COMPRESSION_HEADER, compressionCells, compressionSection, compressionTitle } from "./compression-report.js";

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
    strategyLabel(x),
    x.failed ? `${x.runs - x.failed}/${x.runs}` : String(x.runs),
    f2(x.downtimeP50Ms),
    x.runs - x.failed > 1 ? f2(x.downtimeP99Ms) : "1 run", // a p99 of one run is that run: say so
    f0(x.downtimeP50Ms / rttMs(r.floor)),
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
    lostLabel(x),
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
  const size = verdictSize(r);
  if (size !== null) parts.push(`Verdict at ${size} MiB (best: the least progress lost, at least its pauses)\n` + verdictText(r, size));
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
  if (r.rows.some((x) => x.compress)) parts.push(`${compressionTitle(r)}\n` + table(COMPRESSION_HEADER, compressionCells(r)));
  if (r.messaging) parts.push("Messages between processes: the forwarding mechanisms\n" + table(MESSAGING_HEADER, messagingCells(r)));
  parts.push(
    "Targets\n" +
      judgeTargets(r)
        .map((t) => `  ${t.met === null ? "n/a " : t.met ? "met " : "NOT "} ${t.target}: ${t.detail}`)
        .join("\n"),
  );
  return parts.join("\n\n");
}

/** bench/results/latest.md: the verdict, then every figure. */
export function markdownTable(r: BenchResult): string {
  const size = verdictSize(r);
  const verdict =
    size === null
      ? ""
      : `Verdict at ${size} MiB (best: the least progress lost, at least its pauses)\n\n${verdictMarkdown(r, size)}\n\nEvery figure\n\n`;
  return (
    verdict +
    markdown(
      HEADER,
      r.rows.map((x) => rowCells(x, r)),
    )
  );
}

const sizesOf = (r: BenchResult) => [...new Set(r.rows.map((x) => x.sizeMiB))].sort((a, b) => a - b);
const workloadsOf = (r: BenchResult) => [...new Set(r.rows.map((x) => x.workload))];
const escape = escapeHtml;
const joined = async (charts: Array<Promise<string>>) => (await Promise.all(charts)).join("");

/** The downtime suite's sections of the HTML report. */
async function suiteSections(r: BenchResult, sizes: number[], main: number): Promise<string[]> {
  const sections: string[] = [];
  const plain = r.rows.filter((x) => !x.compress);
  sections.push(`<h2>Downtime</h2>${await joined(sizes.map((s) => downtimeChart(r, s)))}`);
  const bySize = await downtimeBySizeCharts(r);
  if (bySize.length) sections.push(`<h2>Downtime against memory size</h2><div class="grid">${bySize.join("")}</div>`);
  sections.push(`<h2>Every figure</h2><div class="scroll">${htmlTable(
    HEADER,
    r.rows.map((x) => rowCells(x, r)),
  )}</div>
<p>downtime: the guest's pause at the handover. / RTT: downtime over the ws round trip. source: the handover as the source saw it. switch, back: the pauses at the switch to tracking and back to plain. wire / mem: bytes on the wire over the guest's linear memory. / link: stream rate over the measured ws rate. lost ms: progress the workload lost to the migration, in ms of its steady rate (the mean of the undisturbed ${r.suite.steadyMs} ms before the migration and after its window; ± what those two disagree by), covering the migration and ${r.suite.settleMs} ms after it. kv gap: the longest time between two completed kvstore requests during the migration and ${r.suite.settleMs} ms after. p99 of a single run is that run.</p>`);
  sections.push(compressionSection(r));
  const timeline = await migrationTimeline(r, main);
  if (timeline) sections.push(`<h2>One migration, step by step</h2>${timeline}`);
  if (plain.some((x) => x.strategy === "postcopy")) {
    sections.push(`<h2>Post-copy fault latency</h2>${await joined(sizes.map((z) => faultLatencyChart(r, z)))}`);
    sections.push(`<h2>Post-copy faults over time</h2>${await joined(sizes.map((z) => faultsChart(r, z)))}`);
  }
  if (plain.some((x) => x.strategy === "precopy"))
    sections.push(`<h2>Pre-copy: dirty rate and link rate</h2>${await joined(sizes.map((z) => dirtyRateChart(r, z)))}`);
  for (const s of ["precopy", "hybrid"])
    if (plain.some((x) => x.strategy === s))
      sections.push(`<h2>${s}: pages per round</h2>${await joined(sizes.map((z) => roundsChart(r, z, s)))}`);
  sections.push(
    `<h2>Progress around the migration (${main} MiB, first run of each strategy)</h2><div class="grid">${await joined(
      workloadsOf(r).map((w) => progressChart(r, main, w)),
    )}</div>`,
  );
  return sections;
}

export async function htmlReport(r: BenchResult): Promise<string> {
  const sizes = sizesOf(r);
  const main = verdictSize(r) ?? 64;
  const sections: string[] = [];
  const targets = judgeTargets(r);
  if (r.rows.length) sections.push(verdictHtml(r, main));
  sections.push(
    `<h2>Targets</h2><ul>${targets.map((t) => `<li class="${t.met === null ? "na" : t.met ? "met" : "not"}"><b>${t.met === null ? "n/a" : t.met ? "met" : "not met"}</b> — ${escape(t.target)}: ${escape(t.detail)}</li>`).join("")}</ul>`,
  );
  sections.push(`<h2>Floor of this machine</h2><p>${escape(floorLine(r.floor))}</p>`);
  if (r.rows.length) sections.push(...(await suiteSections(r, sizes, main)));
  if (r.overhead) {
    const o = r.overhead;
    sections.push(
      await barChart({
        title: `Instrumentation overhead: run time / uninstrumented build (median of ${o.rows[0]?.reps ?? 0} interleaved repetitions)`,
        yLabel: "ratio",
        categories: [...o.rows.map((x) => x.guest), "geomean"],
        series: (["plain", "track", "postcopy"] as const).map((v) => ({
          name: v,
          values: [...o.rows.map((x) => x.ratio[v]), o.geomean[v]],
        })),
        rules: [
          { y: 1.1, label: "plain: 1.1x target" },
          { y: 1.5, label: "1.5x target" },
        ],
      }),
    );
  }
  if (r.messaging) sections.push(await messagingSection(r));
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
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font-family:sans-serif;max-width:1200px;margin:2em auto;padding:0 8px;color:#222}table{border-collapse:collapse;font-size:12px}td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}th{background:#f4f4f4}.scroll{overflow-x:auto}.verdict tr.best td{background:#e3f4e1;font-weight:bold}.met b{color:#080}.not b{color:#c00}.na b{color:#888}.grid{display:flex;flex-wrap:wrap;gap:8px}.grid svg{flex:1 1 420px}svg{margin:6px 0}pre{font-size:11px;background:#f8f8f8;padding:6px;overflow-x:auto}</style></head>
<body><h1>${escape(heading)}</h1>
<p>${about}</p>
${sections.join("\n")}
</body></html>
`;
}
