// `npm run bench`: the VM core's figures, printed and written to
// bench/results/<date>-vm.json. Options: --reps N (overhead repetitions,
// default 3), --samples N (freezes per guest, default 15), --quick, and
// --migration-only (skip the overhead and freeze-latency parts).

import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cpus } from "node:os";
import { ROOT } from "../host/paths.js";
import { measureOverhead } from "./overhead.js";
import { measureFreezeLatency } from "./freeze-latency.js";
import { measureLinkRate, measureMigration } from "./migration.js";
import { table } from "./stats.js";

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  if (i < 0) return fallback;
  const n = Number(process.argv[i + 1]);
  if (!Number.isInteger(n) || n < 1) {
    process.stderr.write(`bench: ${name} takes a whole number >= 1\n`);
    process.exit(2);
  }
  return n;
}

const quick = process.argv.includes("--quick");
const reps = option("--reps", quick ? 1 : 3);
const samples = option("--samples", quick ? 5 : 15);
const log = (s: string) => process.stderr.write(`bench: ${s}\n`);

const migrationOnly = process.argv.includes("--migration-only");
const overhead = migrationOnly ? { rows: [], geomean: { plain: NaN, track: NaN, postcopy: NaN } } : await measureOverhead(reps, log);
const latency = migrationOnly ? [] : await measureFreezeLatency(samples, log);
const linkMBps = await measureLinkRate();
log(`link: ws loopback server->client ${linkMBps.toFixed(0)} MB/s`);
const migration = await measureMigration(quick ? 2 : 5, 64, log);

const x = (n: number) => `x${n.toFixed(2)}`;
if (!migrationOnly) console.log("\nInstrumentation overhead (guest run time / uninstrumented build, median of " + reps + ")");
if (!migrationOnly) console.log(
  table(
    ["guest", "baseline ms", "plain (polls+asyncify)", "track (+write barrier)", "postcopy (+presence)"],
    [
      ...overhead.rows.map((r) => [r.guest, r.baselineMs.toFixed(0), x(r.ratio.plain), x(r.ratio.track), x(r.ratio.postcopy)]),
      ["geomean", "", x(overhead.geomean.plain), x(overhead.geomean.track), x(overhead.geomean.postcopy)],
    ],
  ),
);
if (!migrationOnly) console.log("\nFreeze latency (request -> unwound, as the node sees it) and capture time");
if (!migrationOnly) console.log(
  table(
    ["guest", "samples", "freeze p50 ms", "freeze p99 ms", "capture p50 ms"],
    latency.map((r) => [r.guest, r.samples, r.freezeP50Ms.toFixed(3), r.freezeP99Ms.toFixed(3), r.captureP50Ms.toFixed(3)]),
  ),
);

console.log(`\nMigration of a guest that touched 64 MiB (bytes 64, rewriting it all the time), ${quick ? 2 : 5} runs per strategy; link rate ${linkMBps.toFixed(0)} MB/s`);
console.log(
  table(
    ["strategy", "downtime p50 ms", "downtime p99 ms", "total p50 ms", "MB sent", "rounds", "faults", "stream MB/s", "stream / link"],
    migration.map((r) => [
      r.strategy,
      r.downtimeP50Ms.toFixed(2),
      r.downtimeP99Ms.toFixed(2),
      r.totalP50Ms.toFixed(0),
      r.mbSentP50.toFixed(1),
      r.roundsP50,
      r.faultsP50,
      r.mbpsP50.toFixed(0),
      (r.mbpsP50 / linkMBps).toFixed(2),
    ]),
  ),
);

const when = new Date().toISOString();
const out = join(ROOT, "bench", "results", `${when.slice(0, 10)}-${migrationOnly ? "migration" : "vm"}.json`);
mkdirSync(join(ROOT, "bench", "results"), { recursive: true });
writeFileSync(
  out,
  JSON.stringify({ when, machine: { cpus: cpus().length, cpu: cpus()[0]?.model, node: process.version }, reps, samples, overhead, latency, linkMBps, migration }, null, 2),
);
console.log(`\nwritten to ${out}`);
