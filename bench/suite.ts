// The downtime benchmark: workload x strategy x memory size, on two real nodes.
//
// For each workload and size, the workload starts on node A with effectively
// endless work and the benchmark follows its output (across moves, like
// `migrant attach`). Once it has initialised its memory and reported for a
// while, it is migrated back and forth, `reps` times with each strategy, with
// `settleMs` of undisturbed running between migrations.
//
// The workloads print `tick <work since last tick> <longest gap ms> <guest
// clock ms>`. A tick accounts for the work done since the previous one, spread
// evenly over that interval; from that the benchmark gets the progress rate
// around each migration (in 100 ms buckets, relative to the steady rate), the
// progress lost to it (work that the steady rate would have done in
// [start, end + settleMs] and was not done, in ms of that rate) and, for
// kvstore, the longest gap between two completed requests that a client saw.
//
// The steady rate is the mean of two undisturbed windows of `steadyMs`: the
// one before the migration and the one after its settle window (which is the
// next migration's window before). One window alone took a workload's drift
// (gc's rate changes by phase) for progress gained or lost, and "lost" came
// out negative. What the two windows disagree by, over the length of the
// migration's window, is the figure's noise (`lostNoiseMs`): a loss within it
// is not told apart from none.
// The guest clock is the node's wall clock, which is this machine's: the nodes
// run here, in namespaces at most.

import { join } from "node:path";
import { spawnNode, type SpawnedNode } from "../host/cluster/spawn.js";
import { Cluster } from "../host/client/cluster.js";
import { GiB } from "../host/text/size.js";
import { buildCached } from "../host/build/cache.js";
import { WORKLOAD_DIR } from "./workloads.js";
import type { MigrationStats, RequestedStrategy } from "../host/migration/options.js";
import type { NetLink } from "./link.js";
import { f0, percentile } from "./stats.js";

/** The workloads' second argument for "keep going until killed". */
const ENDLESS = "2000000000";
/** Benchmark builds may hold a 1000 MiB working set plus their runtime. */
export const BENCH_MAX_MEMORY = 2 * GiB;
const BUCKET_MS = 100;

export interface SuiteOptions {
  workloads: string[];
  strategies: RequestedStrategy[];
  sizes: number[];
  reps: number;
  /** each strategy also with --compress (runs without it, then with it) */
  compress: boolean;
  settleMs: number;
  /** each steady window (before a migration, and after its settle window), ms */
  steadyMs: number;
  link: NetLink | null;
  log: (s: string) => void;
}

export interface Tick {
  /** guest clock, ms */
  t: number;
  work: number;
  gapMs: number;
}

export interface MigrationRun {
  workload: string;
  sizeMiB: number;
  /** what was asked (auto: its choice is in the statistics) */
  strategy: RequestedStrategy;
  /** moved with --compress */
  compress: boolean;
  rep: number;
  /** the guest's linear memory when it moved, bytes */
  memoryBytes: number;
  stats: MigrationStats;
  /** work per second when undisturbed: the mean of the steady windows before and after */
  baselineRate: number;
  /** progress lost to the migration, in ms of the baseline rate */
  lostMs: number;
  /** how far lostMs can be off by the workload's own drift: what the two steady windows disagree by (0 with one window) */
  lostNoiseMs: number;
  /** longest gap between two completed requests during [start, end + settle] (kvstore), and before it */
  longestGapMs: number | null;
  baselineGapMs: number | null;
  /** progress rate / baseline, in BUCKET_MS buckets starting settleMs before the migration */
  progress: number[];
  /** the migration's end, ms after its start */
  endMs: number;
}

export interface SuiteResult {
  runs: MigrationRun[];
  /** workload/size combinations that could not be measured, and why */
  skipped: Array<{ workload: string; sizeMiB: number; reason: string }>;
  bucketMs: number;
  settleMs: number;
  steadyMs: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Work done in (a, b], each tick's work spread evenly over (previous tick, tick]. */
export function workIn(ticks: Tick[], a: number, b: number): number {
  let w = 0;
  for (let i = 1; i < ticks.length; i++) {
    const t0 = ticks[i - 1].t;
    const t1 = ticks[i].t;
    if (t1 <= a || t0 >= b || t1 <= t0) continue;
    w += (ticks[i].work * (Math.min(b, t1) - Math.max(a, t0))) / (t1 - t0);
  }
  return w;
}

/**
 * The figures of one migration from the ticks around it: the steady rate from
 * the window of `steadyMs` before `start` and, where the ticks reach it, the
 * one after `end + settleMs`.
 */
export function progressAround(ticks: Tick[], start: number, end: number, settleMs: number, steadyMs = settleMs) {
  const after = end + settleMs;
  const rate = (a: number) => workIn(ticks, a, a + steadyMs) / (steadyMs / 1000);
  const earlier = rate(start - steadyMs);
  const later = (ticks[ticks.length - 1]?.t ?? -Infinity) >= after + steadyMs ? rate(after) : null;
  const baselineRate = later === null ? earlier : (earlier + later) / 2;
  const lostMs = baselineRate > 0 ? ((after - start) / 1000 - workIn(ticks, start, after) / baselineRate) * 1000 : NaN;
  const lostNoiseMs = later !== null && baselineRate > 0 ? ((after - start) * Math.abs(earlier - later)) / (2 * baselineRate) : 0;
  const progress: number[] = [];
  for (let t = start - settleMs; t < after; t += BUCKET_MS) {
    const r = workIn(ticks, t, t + BUCKET_MS) / (BUCKET_MS / 1000);
    progress.push(baselineRate > 0 ? Math.round((r / baselineRate) * 1000) / 1000 : 0);
  }
  // a tick's gap covers the time since the previous tick: the ones that end in the window
  const gaps = (a: number, b: number) => ticks.filter((k) => k.t > a && k.t <= b).map((k) => k.gapMs);
  const during = gaps(start, after + BUCKET_MS);
  const before = gaps(start - steadyMs, start);
  return {
    baselineRate,
    lostMs,
    lostNoiseMs,
    progress,
    longestGapMs: during.length ? Math.max(...during) : null,
    baselineGapMs: before.length ? Math.max(...before) : null,
  };
}

export function parseTick(line: string): Tick | null {
  const m = /^tick (\d+) ([\d.]+) ([\d.]+)$/.exec(line);
  return m ? { work: Number(m[1]), gapMs: Number(m[2]), t: Number(m[3]) } : null;
}

interface Node {
  name: string;
  spawned: SpawnedNode;
  url: string;
}

async function startNodes(link: NetLink | null, secretFile: string | null, log: (s: string) => void): Promise<Node[]> {
  const extra = (host: string | undefined) => [...(host ? ["--host", host] : []), ...(secretFile ? ["--secret-file", secretFile] : [])];
  const lines: string[] = [];
  const keep = (l: string) => {
    lines.push(l);
    if (lines.length > 200) lines.shift();
  };
  const a = spawnNode("A", extra(link?.a.host), keep, process.env, link?.a.ns);
  const aUrl = await a.url;
  const b = spawnNode("B", ["--join", aUrl, ...extra(link?.b.host)], keep, process.env, link?.b.ns);
  const bUrl = await b.url;
  log(`nodes: A at ${aUrl}, B at ${bUrl}${link ? ` (namespaces ${link.a.ns}/${link.b.ns}, tbf ${link.rate})` : ""}`);
  return [
    { name: "A", spawned: a, url: aUrl },
    { name: "B", spawned: b, url: bUrl },
  ];
}

/** Waits (bounded) until `ok()` holds. */
async function until(ok: () => boolean, ms: number, what: string): Promise<void> {
  const end = performance.now() + ms;
  while (!ok()) {
    if (performance.now() > end) throw new Error(`${what}: not within ${Math.round(ms / 1000)} s`);
    await sleep(50);
  }
}

/** A workload running on the cluster, its ticks followed wherever it runs. */
interface Running {
  pid: string;
  workload: string;
  sizeMiB: number;
  /** "kvstore 64 MiB" */
  label: string;
  ticks: Tick[];
  /** why it ended, once it has (it should not: the benchmark kills it) */
  ended: string | null;
  following: Promise<unknown>;
}

async function startWorkload(cluster: Cluster, workload: string, bytes: Uint8Array, sizeMiB: number): Promise<Running> {
  const { pid } = await cluster.run({ bytes, name: `${workload}.wasm` }, [String(sizeMiB), ENDLESS], { at: null });
  const w: Running = { pid, workload, sizeMiB, label: `${workload} ${sizeMiB} MiB`, ticks: [], ended: null, following: Promise.resolve() };
  w.following = cluster
    .attach(pid, (line) => {
      const t = parseTick(line);
      if (t) w.ticks.push(t);
    })
    .then(
      (e) => (w.ended = e.error ? `process ${pid} ended: ${e.error}` : `exited with code ${e.code}`),
      (e: Error) => (w.ended = e.message),
    );
  return w;
}

/** Waits until the workload has initialised (its first tick) and run steadily for a steady window. */
async function warmUp(o: SuiteOptions, w: Running): Promise<void> {
  await until(() => w.ticks.length > 0 || w.ended !== null, 600_000, `${w.label} starting`);
  if (w.ended) throw new Error(`${w.label} ended: ${w.ended}`);
  const first = w.ticks[0].t;
  await until(() => w.ticks[w.ticks.length - 1].t >= first + o.steadyMs || w.ended !== null, 120_000, `${w.label} ticking`);
}

/** One migration of the workload to node `to`, and its progress around it. */
async function measureMigration(
  o: SuiteOptions,
  cluster: Cluster,
  w: Running,
  to: Node,
  strategy: RequestedStrategy,
  compress: boolean,
  rep: number,
): Promise<MigrationRun> {
  if (w.ended) throw new Error(`${w.label} ended: ${w.ended}`);
  const memoryBytes = (await cluster.ps()).find((p) => p.pid === w.pid)?.memory ?? 0;
  const start = Date.now();
  const stats = await cluster.migrate(w.pid, to.name, { strategy, compress });
  const end = Date.now();
  // observe the settle window after it and a steady window after that (the ticks lag a little: bounded wait)
  const seen = end + o.settleMs + o.steadyMs;
  await sleep(seen - Date.now());
  const settled = () => (w.ticks[w.ticks.length - 1]?.t ?? 0) >= seen || w.ended !== null;
  await until(settled, 30_000, `${w.label} ticking after a migration`).catch(() => undefined);
  if (rep > 0) [stats.faultTimesMs, stats.faultLatenciesUs] = [[], []]; // one run's worth is enough for the charts
  const p = progressAround(w.ticks, start, end, o.settleMs, o.steadyMs);
  o.log(
    `${w.label} ${strategy}${compress ? " --compress" : ""} #${rep + 1}: ${stats.result}${stats.error ? ` (${stats.error})` : ""}, ` +
      `downtime ${stats.downtimeMs.toFixed(2)} ms (source ${stats.handoverMs.toFixed(2)}), switch ${stats.switchPauseMs.toFixed(2)}/${stats.switchBackPauseMs.toFixed(2)} ms, total ${stats.totalMs.toFixed(0)} ms, ${(stats.bytesSent / 1e6).toFixed(1)} MB${compress ? ` (of ${(stats.rawBytes / 1e6).toFixed(1)})` : ""}, ` +
      `rounds ${stats.rounds}, faults ${stats.faults}, lost ${Number.isFinite(p.lostMs) ? `${p.lostMs.toFixed(0)} ±${p.lostNoiseMs.toFixed(0)}` : "?"} ms` +
      (w.workload === "kvstore" && p.longestGapMs !== null ? `, longest gap ${p.longestGapMs} ms` : ""),
  );
  return { workload: w.workload, sizeMiB: w.sizeMiB, strategy, compress, rep, memoryBytes, stats, ...p, endMs: end - start };
}

async function measureWorkload(
  o: SuiteOptions,
  nodes: Node[],
  secret: Buffer,
  workload: string,
  bytes: Uint8Array,
  sizeMiB: number,
  out: SuiteResult,
): Promise<void> {
  const cluster = new Cluster({ node: nodes[0].url, secret });
  const w = await startWorkload(cluster, workload, bytes, sizeMiB);
  let where = 0;
  try {
    await warmUp(o, w);
    for (const strategy of o.strategies) {
      for (const compress of o.compress ? [false, true] : [false]) {
        for (let rep = 0; rep < o.reps; rep++) {
          const run = await measureMigration(o, cluster, w, nodes[1 - where], strategy, compress, rep);
          out.runs.push(run);
          if (run.stats.result === "completed") where = 1 - where;
        }
      }
    }
  } finally {
    await cluster.kill(w.pid).catch(() => undefined);
    await Promise.race([w.following, sleep(10_000)]);
  }
}

export async function runSuite(o: SuiteOptions, secretFile: string | null, secret: Buffer): Promise<SuiteResult> {
  const out: SuiteResult = { runs: [], skipped: [], bucketMs: BUCKET_MS, settleMs: o.settleMs, steadyMs: o.steadyMs };
  const nodes = await startNodes(o.link, secretFile, o.log);
  try {
    await sleep(500); // B has joined and both have heard a heartbeat
    for (const workload of o.workloads) {
      const bytes = await buildCached(join(WORKLOAD_DIR, `${workload}.ts`), { maxMemory: BENCH_MAX_MEMORY }, o.log);
      for (const sizeMiB of o.sizes) {
        try {
          await measureWorkload(o, nodes, secret, workload, bytes, sizeMiB, out);
        } catch (e) {
          const reason = (e as Error).message;
          out.skipped.push({ workload, sizeMiB, reason });
          o.log(`${workload} ${sizeMiB} MiB: skipped (${reason})`);
        }
      }
    }
  } finally {
    for (const n of nodes) n.spawned.child.kill("SIGINT");
  }
  return out;
}

export interface SuiteRow {
  workload: string;
  sizeMiB: number;
  strategy: RequestedStrategy;
  /** moved with --compress */
  compress: boolean;
  runs: number;
  failed: number;
  /** the guest's own pause at the handover (one clock: last instruction there, first here) */
  downtimeP50Ms: number;
  downtimeP99Ms: number;
  /** the source's view of the handover (its freeze to migResumed heard) */
  handoverP50Ms: number;
  /** the guest's pause at the switch to tracking, and at the switch back to plain */
  switchPauseP50Ms: number;
  switchBackPauseP50Ms: number;
  /** the longest of every pause the guest saw in one migration, over the runs */
  maxPauseMs: number;
  /** the sum of the guest's pauses in one migration */
  pausesP50Ms: number;
  totalP50Ms: number;
  /** bytes on the wire / the guest's linear memory */
  wireRatio: number;
  /** --compress: the pages' bytes / the bytes on the wire (1 without it), and the pages sent as deltas */
  compressRatio: number;
  deltaPages: number;
  mbSent: number;
  mbps: number;
  rounds: number;
  faults: number;
  faultP50Us: number;
  faultP99Us: number;
  lostMsP50: number;
  /** the noise of lostMs (p50): what its steady windows disagree by */
  lostNoiseP50Ms: number;
  /** pre-copy's auto-converge: the highest throttle over the runs (percent of the time paused), and how long it held the guest */
  throttlePct: number;
  throttledMsP50: number;
  /** kvstore: the longest gap a client saw, over the runs */
  longestGapMs: number | null;
  /** --strategy auto: what it chose (each choice once), and its predictions (p50) */
  auto: { chose: string; predictedDowntimeMs: number; predictedLostMs: number } | null;
}

/** A row's progress lost as the tables show it: with its noise where that is a millisecond or more. */
export const lostLabel = (x: { lostMsP50: number; lostNoiseP50Ms: number }) =>
  Number.isFinite(x.lostMsP50) && x.lostNoiseP50Ms >= 1 ? `${f0(x.lostMsP50)} ±${f0(x.lostNoiseP50Ms)}` : f0(x.lostMsP50);

/** A row's strategy as the tables and charts name it: `precopy`, or `precopy +compress`. */
export const strategyLabel = (x: { strategy: string; compress: boolean }) => (x.compress ? `${x.strategy} +compress` : x.strategy);

/** What auto chose in these runs, and what it predicted. */
function autoOf(runs: MigrationRun[]): SuiteRow["auto"] {
  const choices = runs.map((r) => r.stats.auto).filter((a) => a !== null);
  if (!choices.length) return null;
  return {
    chose: [...new Set(choices.map((a) => a.chose))].join("/"),
    predictedDowntimeMs: percentile(
      choices.map((a) => a.predictedDowntimeMs),
      50,
    ),
    predictedLostMs: percentile(
      choices.map((a) => a.predictedLostMs),
      50,
    ),
  };
}

/** p50/p99 per workload, size and strategy over the completed runs. */
export function summarize(runs: MigrationRun[]): SuiteRow[] {
  const groups = new Map<string, MigrationRun[]>();
  for (const r of runs) {
    const k = `${r.workload}\0${r.sizeMiB}\0${r.strategy}\0${r.compress}`;
    groups.set(k, [...(groups.get(k) ?? []), r]);
  }
  return [...groups.values()].map((all) => {
    const ok = all.filter((r) => r.stats.result === "completed");
    const p = (f: (r: MigrationRun) => number, q = 50) => percentile(ok.map(f), q);
    const gaps = ok.map((r) => r.longestGapMs).filter((g): g is number => g !== null);
    return {
      workload: all[0].workload,
      sizeMiB: all[0].sizeMiB,
      strategy: all[0].strategy,
      compress: all[0].compress,
      runs: all.length,
      failed: all.length - ok.length,
      downtimeP50Ms: p((r) => r.stats.downtimeMs),
      downtimeP99Ms: p((r) => r.stats.downtimeMs, 99),
      handoverP50Ms: p((r) => r.stats.handoverMs),
      switchPauseP50Ms: p((r) => r.stats.switchPauseMs),
      switchBackPauseP50Ms: p((r) => r.stats.switchBackPauseMs),
      maxPauseMs: ok.length
        ? Math.max(...ok.map((r) => Math.max(r.stats.downtimeMs, r.stats.switchPauseMs, r.stats.switchBackPauseMs)))
        : NaN,
      pausesP50Ms: p((r) => r.stats.pausesMs),
      totalP50Ms: p((r) => r.stats.totalMs),
      wireRatio: p((r) => r.stats.bytesSent / Math.max(1, r.memoryBytes)),
      compressRatio: p((r) => r.stats.rawBytes / Math.max(1, r.stats.bytesSent)),
      deltaPages: p((r) => r.stats.deltaPages),
      mbSent: p((r) => r.stats.bytesSent / 1e6),
      mbps: p((r) => r.stats.mbps),
      rounds: p((r) => r.stats.rounds),
      faults: p((r) => r.stats.faults),
      faultP50Us: p((r) => r.stats.faultP50Us),
      faultP99Us: p((r) => r.stats.faultP99Us),
      lostMsP50: p((r) => r.lostMs),
      lostNoiseP50Ms: p((r) => r.lostNoiseMs),
      throttlePct: ok.length ? Math.max(...ok.map((r) => r.stats.throttlePct)) : 0,
      throttledMsP50: p((r) => r.stats.throttledMs),
      longestGapMs: all[0].workload === "kvstore" && gaps.length ? Math.max(...gaps) : null,
      auto: autoOf(ok),
    };
  });
}
