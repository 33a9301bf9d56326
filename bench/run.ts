// `migrant bench` (and `npm run bench`): the floor of this machine, the
// instrumentation overhead and freeze latency of each workload, then the
// downtime suite (workload x strategy x size on two real nodes). Prints the
// tables and the targets, and writes bench/results/<date>.json and
// bench/results/<date>.html (self-contained, with every chart), plus
// bench/results/latest-downtime.svg (the README's chart) and latest.md (its table).
// `--soak N` runs the soak benchmark instead (bench/soak.ts): N migrations in
// a row, written to bench/results/<date>-soak.json and latest-soak.md.
// `--balance [modes]` runs the balance benchmark instead (bench/balance.ts):
// a batch of CPU-bound jobs started on one node of three, per balancer mode,
// written to bench/results/<date>-balance.json, .html and latest-balance.md.

import { mkdirSync, mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { cpus, tmpdir } from "node:os";
import { randomBytes } from "node:crypto";
import { readSecret } from "../host/net/auth.js";
import { STRATEGIES, type RequestedStrategy, type Strategy } from "../host/migration/options.js";
import { measureOverhead, OVERHEAD_REPS } from "./overhead.js";
import { measureFreezeLatency, type LatencyRow } from "./freeze-latency.js";
import { measureFloor } from "./floor.js";
import { setupLink, type NetLink } from "./link.js";
import { runSuite, summarize } from "./suite.js";
import { runMessaging } from "./messaging.js";
import type { ForwardingMode } from "../host/cluster/forwarding/forwarding.js";
import { htmlReport, markdownTable, textReport, floorLine } from "./report.js";
import { downtimeChart } from "./suite-charts.js";
import { verdictSize } from "./verdict.js";
import { messagingTable } from "./messaging-report.js";
import type { BenchResult } from "./result.js";
import { table } from "./stats.js";
import { runSoak, type SoakResult } from "./soak.js";
import { soakMarkdown, soakText } from "./soak-report.js";
import { runBalance, type BalanceResult } from "./balance.js";
import { balanceHtml, balanceMarkdown, balanceText } from "./balance-report.js";
import type { BalanceMode } from "./workloads.js";

export interface BenchOptions {
  workloads: string[];
  strategies: RequestedStrategy[];
  sizes: number[];
  reps: number;
  /** each strategy also with --compress */
  compress: boolean;
  quick: boolean;
  overhead: boolean;
  /** the messaging benchmark (forwarding mechanisms); messagingOnly: nothing else but the floor */
  messaging: boolean;
  messagingOnly: boolean;
  /** the mechanisms the messaging benchmark compares */
  forwarding: ForwardingMode[];
  /** tbf rate for --link (e.g. "1gbit"), or null for loopback */
  link: string | null;
  delayMs: number;
  /** --soak N: only the soak benchmark, N migrations (null: the other parts) */
  soak: number | null;
  /** --balance: only the balance benchmark, these balancer modes (null: the other parts) */
  balance: BalanceMode[] | null;
  out: string;
}

/** The --link set-up (namespaces and a capped veth), or why it is not used. */
function openLink(o: BenchOptions, log: (s: string) => void): { link: NetLink | null; info: BenchResult["link"] } {
  if (!o.link) return { link: null, info: null };
  let info: BenchResult["link"] = null;
  const link = setupLink(o.link, o.delayMs, (why) => {
    log(why);
    info = { refused: why };
  });
  if (link) {
    for (const n of link.notes) log(n);
    info = { rate: link.rate, delayMs: link.delayMs, notes: link.notes };
  }
  return { link, info };
}

/** The measurements, in order: the floor, the overhead and freeze latency, the downtime suite. */
async function measure(o: BenchOptions, link: NetLink | null, secretFile: string | null, log: (s: string) => void) {
  const floor = await measureFloor(link, o.quick ? 32 : 128);
  log(`floor: ${floorLine(floor)}`);
  let overhead: BenchResult["overhead"] = null;
  let latency: LatencyRow[] = [];
  if (o.overhead) {
    overhead = await measureOverhead(o.workloads, OVERHEAD_REPS, log);
    latency = await measureFreezeLatency(o.workloads, o.quick ? 5 : 15, log);
  }
  const settleMs = o.quick ? 600 : 1000;
  const steadyMs = o.quick ? 1000 : 2000;
  const suite = o.messagingOnly
    ? { runs: [], skipped: [], bucketMs: 100, settleMs, steadyMs }
    : await runSuite(
        {
          workloads: o.workloads,
          strategies: o.strategies,
          sizes: o.sizes,
          reps: o.reps,
          compress: o.compress,
          settleMs,
          steadyMs,
          link,
          log,
        },
        secretFile,
        readSecret(secretFile ?? undefined),
      );
  // on loopback: the mechanisms' differences are in hops and control messages, not in a link's rate
  const messaging = o.messaging || o.messagingOnly ? await runMessaging({ quick: o.quick, log, modes: o.forwarding }) : null;
  return { floor, overhead, latency, suite, messaging };
}

/** Prints the report and writes the JSON, the HTML and the README's chart and table. */
async function report(o: BenchOptions, result: BenchResult, latency: LatencyRow[]): Promise<void> {
  console.log("\n" + textReport(result));
  if (latency.length) {
    console.log("\nFreeze latency (request -> unwound, as the node sees it) and capture time");
    console.log(
      table(
        ["workload", "samples", "freeze p50 ms", "freeze p99 ms", "capture p50 ms"],
        latency.map((r) => [r.guest, r.samples, r.freezeP50Ms.toFixed(3), r.freezeP99Ms.toFixed(3), r.captureP50Ms.toFixed(3)]),
      ),
    );
  }
  mkdirSync(o.out, { recursive: true });
  const base = join(o.out, result.when.slice(0, 10));
  writeFileSync(`${base}.json`, JSON.stringify({ ...result, latency }, null, 1));
  writeFileSync(`${base}.html`, await htmlReport(result));
  const written = [`${base}.json`, `${base}.html`];
  const size = verdictSize(result); // 64 MiB if measured, else the smallest; null without a downtime suite
  if (size !== null) {
    written.push(join(o.out, "latest-downtime.svg"), join(o.out, "latest.md"));
    writeFileSync(written[2], await downtimeChart(result, size));
    writeFileSync(written[3], markdownTable(result) + "\n");
  }
  if (result.messaging) {
    const md = join(o.out, "latest-messaging.md");
    writeFileSync(md, messagingTable(result) + "\n");
    written.push(md);
  }
  console.log(`\nwritten: ${written.join(", ")}`);
}

/** `--soak N`: the soak benchmark alone; prints its report, writes <date>-soak.json and latest-soak.md. */
export async function runSoakBench(o: BenchOptions, log: (s: string) => void): Promise<SoakResult> {
  const result = await runSoak({
    migrations: o.soak!,
    strategies: o.strategies.filter((x): x is Strategy => (STRATEGIES as readonly string[]).includes(x)),
    sizeMiB: o.sizes[0],
    log,
  });
  console.log("\n" + soakText(result));
  mkdirSync(o.out, { recursive: true });
  const json = join(o.out, `${result.when.slice(0, 10)}-soak.json`);
  const md = join(o.out, "latest-soak.md");
  writeFileSync(json, JSON.stringify(result, null, 1));
  writeFileSync(md, soakMarkdown(result) + "\n");
  console.log(`\nwritten: ${json}, ${md}`);
  return result;
}

/** `--balance`: the balance benchmark alone; prints its table, writes <date>-balance.json, .html and latest-balance.md. */
export async function runBalanceBench(o: BenchOptions, log: (s: string) => void): Promise<BalanceResult> {
  const result = await runBalance({ modes: o.balance!, quick: o.quick, log });
  console.log("\n" + balanceText(result));
  mkdirSync(o.out, { recursive: true });
  const base = join(o.out, `${result.when.slice(0, 10)}-balance`);
  const md = join(o.out, "latest-balance.md");
  writeFileSync(`${base}.json`, JSON.stringify(result, null, 1));
  writeFileSync(`${base}.html`, await balanceHtml(result));
  writeFileSync(md, balanceMarkdown(result) + "\n");
  console.log(`\nwritten: ${base}.json, ${base}.html, ${md}`);
  if (result.runs.some((r) => r.failures.length)) process.exitCode = 1;
  return result;
}

const toStderr = (s: string) => void process.stderr.write(`bench: ${s}\n`);

export async function runBench(o: BenchOptions, log: (s: string) => void = toStderr): Promise<BenchResult | SoakResult | BalanceResult> {
  if (o.soak !== null) return runSoakBench(o, log);
  if (o.balance) return runBalanceBench(o, log);
  const { link, info } = openLink(o, log);
  let secretDir: string | null = null;
  const onSignal = () => {
    link?.teardown();
    process.exit(130);
  };
  process.once("SIGINT", onSignal);
  try {
    // nodes that listen off loopback need a cluster secret
    let secretFile: string | null = null;
    if (link) {
      secretDir = mkdtempSync(join(tmpdir(), "migrant-bench-"));
      secretFile = join(secretDir, "secret");
      writeFileSync(secretFile, randomBytes(32).toString("hex"), { mode: 0o600 });
    }
    const { floor, overhead, latency, suite, messaging } = await measure(o, link, secretFile, log);
    const result: BenchResult = {
      when: new Date().toISOString(),
      machine: { cpus: cpus().length, cpu: cpus()[0]?.model, node: process.version },
      options: { workloads: o.workloads, strategies: o.strategies, sizes: o.sizes, reps: o.reps, quick: o.quick },
      link: info,
      floor,
      overhead,
      suite,
      rows: summarize(suite.runs),
      messaging,
    };
    await report(o, result, latency);
    return result;
  } finally {
    process.off("SIGINT", onSignal);
    link?.teardown();
    if (secretDir) rmSync(secretDir, { recursive: true, force: true });
  }
}
