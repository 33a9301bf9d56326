// `bench --compress`: each strategy runs without --compress and then with it
// (bench/suite.ts). This part of the report sets the two side by side per
// workload, size and strategy: the compression ratio, the pages that went as
// deltas, and the downtime, total time and megabytes without and with it
// (terminal table, HTML section, a target line).

import { f0, f2, htmlTable } from "./stats.js";
import type { BenchResult, Target } from "./result.js";
import type { SuiteRow } from "./suite.js";

export const COMPRESSION_HEADER = [
  "workload",
  "MiB",
  "strategy",
  "ratio",
  "delta pages",
  "downtime ms off / on",
  "total ms off / on",
  "MB off / on",
  "lost ms off / on",
];

/** Each compressed row with its uncompressed twin. */
function pairs(r: BenchResult): Array<{ off: SuiteRow; on: SuiteRow }> {
  return r.rows
    .filter((on) => on.compress)
    .map((on) => ({
      on,
      off: r.rows.find((x) => !x.compress && x.workload === on.workload && x.sizeMiB === on.sizeMiB && x.strategy === on.strategy),
    }))
    .filter((x): x is { off: SuiteRow; on: SuiteRow } => x.off !== undefined);
}

export function compressionCells(r: BenchResult): string[][] {
  return pairs(r).map(({ off, on }) => [
    on.workload,
    String(on.sizeMiB),
    on.strategy,
    `${f2(on.compressRatio)}x`,
    f0(on.deltaPages),
    `${f2(off.downtimeP50Ms)} / ${f2(on.downtimeP50Ms)}`,
    `${f0(off.totalP50Ms)} / ${f0(on.totalP50Ms)}`,
    `${f2(off.mbSent)} / ${f2(on.mbSent)}`,
    `${f0(off.lostMsP50)} / ${f0(on.lostMsP50)}`,
  ]);
}

const where = (r: BenchResult) => (r.link && "rate" in r.link ? `over a ${r.link.rate} link` : "on loopback");

export function compressionTitle(r: BenchResult): string {
  return `Compression (--compress) ${where(r)}: each strategy without it and with it`;
}

export function compressionSection(r: BenchResult): string {
  if (!pairs(r).length) return "";
  return `<h2>${compressionTitle(r)}</h2>${htmlTable(COMPRESSION_HEADER, compressionCells(r))}
<p>ratio: the pages' bytes over the bytes on the wire. delta pages: pages sent again as an XBZRLE delta against the copy sent before. Each pair is one workload moved without --compress and then with it, p50 of the runs.</p>`;
}

/** Memory that packs at least this well is compressible: --compress must shorten its migration. */
const COMPRESSIBLE = 1.1;
/** Memory that does not (random data) may take this much longer with it: the CPU it spends finding out. */
const INCOMPRESSIBLE_COST = 1.1;

/**
 * Issue 12's target 6, measured under a capped link: a shorter total time with
 * --compress wherever the memory compresses, and at most 10% longer where it
 * does not.
 */
export function compressionTarget(r: BenchResult): Target {
  const target = `--compress under a capped link: shorter total time where the memory packs >= ${COMPRESSIBLE}x, at most ${INCOMPRESSIBLE_COST}x longer elsewhere (issue 12)`;
  // a migration that moves little takes its fixed costs, not the link's time: judged are those that moved >= 8 MB
  const list = pairs(r).filter((x) => x.off.mbSent >= 8);
  if (!list.length) return { target, met: null, detail: "not measured in this run (bench --compress --link 100mbit, >= 8 MB moved)" };
  const ratios = list.map((x) => x.on.compressRatio);
  const slower = list.filter((x) =>
    x.on.compressRatio >= COMPRESSIBLE ? x.on.totalP50Ms >= x.off.totalP50Ms : x.on.totalP50Ms > x.off.totalP50Ms * INCOMPRESSIBLE_COST,
  );
  const detail =
    `${where(r)}, ratio ${f2(Math.min(...ratios))}-${f2(Math.max(...ratios))}x; ` +
    (slower.length
      ? `not shorter for ${slower.map((x) => `${x.on.workload} ${x.on.strategy} ${f0(x.off.totalP50Ms)} -> ${f0(x.on.totalP50Ms)} ms`).join(", ")}`
      : `met by all ${list.length} of >= 8 MB`);
  return { target, met: r.link && "rate" in r.link ? slower.length === 0 : null, detail };
}
