// The balance benchmark (`migrant bench --balance`): a batch of CPU-bound
// jobs of different lengths, all started on node A of three (A, B, C on
// loopback), once per balancer mode (`migrant node --balance MODE` on every
// node, a fresh cluster each time).
//
// Each node is given a capacity of one process (--cpus 1), the least that
// takes a whole CPU-bound job (the balancer moves a process only where it
// fits: demand + 1 <= cpus). Beyond it a node holds its guests in turns
// (cluster/cpu-share.ts), so with the balancer off the batch runs at A's 1
// cpu, as it would on a machine of A's own, though the machine has 2 cores.
// Spread over the three it could run at 3, but the three nodes share this
// machine's 2 cores: the balanced runs are bounded by the machine, and gain
// less than three machines would.
//
// The jobs (assembly/workloads/job.ts) print a checksum per unit of work and
// depend only on their arguments. The benchmark follows each job's output as
// a client does (across its moves), and records every 250 ms, through ps,
// the node each job runs on (the timeline). Per mode: the makespan (first
// start to last end), the mean completion time (a job's end less its start),
// the migrations (the sum of the jobs' ps counts) and the nodes' balancer
// counters. Every job's output is compared with the output of an unmoved
// run of the same arguments (a run in any mode that did not move, else one
// run on a node of its own); a difference, an error or a job that did not
// end in time is a failure.

import { join } from "node:path";
import { cpus } from "node:os";
import { Cluster } from "../host/client/cluster.js";
import { buildCached } from "../host/build/cache.js";
import type { ModuleFile } from "../host/client/connection.js";
import type { BalanceCounters } from "../host/cluster/views.js";
import { spawnNode } from "../host/cluster/spawn.js";
import { NODES, startNodes } from "./soak.js";
import { WORKLOAD_DIR, type BalanceMode } from "./workloads.js";

export interface BalanceOptions {
  modes: BalanceMode[];
  /** a small batch (seconds per mode) */
  quick: boolean;
  log(s: string): void;
}

export interface JobRun {
  pid: string;
  args: string[];
  /** ms after the first job started */
  startMs: number;
  /** ms after the first job started (NaN: it did not end) */
  endMs: number;
  migrations: number;
  code: number | null;
  /** its output equals an unmoved run's (null: not checked yet) */
  intact: boolean | null;
}

export interface ModeRun {
  mode: BalanceMode;
  makespanMs: number;
  meanCompletionMs: number;
  /** the sum of the jobs' migrations (ps) */
  migrations: number;
  /** per node, its balancer's counters at the end (null where it gave none) */
  balance: Record<string, BalanceCounters | null>;
  jobs: JobRun[];
  /** every SAMPLE_MS: ms after the first start, and the node each job runs on (null: ended) */
  timeline: Array<{ t: number; on: Array<string | null> }>;
  failures: string[];
  /** the nodes' lines about the balancer (the first 200), each prefixed with the node's name */
  events: string[];
  /** the whole mode, nodes started to stopped, s */
  durationS: number;
}

/** A mode's run with every job's output lines (kept out of the JSON: checked against an unmoved run's). */
type Measured = ModeRun & { outputs: string[][] };

export interface BalanceResult {
  when: string;
  machine: { cpus: number };
  nodes: string[];
  /** each node's --cpus */
  cpusPerNode: number;
  /** the flags every node ran with, --balance MODE besides (the balancer's other settings: the nodes' defaults) */
  nodeArgs: string[];
  quick: boolean;
  jobs: string[][];
  runs: ModeRun[];
  /** the jobs run once more unmoved to compare with (their args), when no mode gave an unmoved run of them */
  referenceRuns: string[][];
  durationS: number;
}

export const CPUS_PER_NODE = 1;
export const SAMPLE_MS = 250;
/** 8 jobs of 10 to 40 units of ~0.14 s of a core: about 28 core-seconds, as many seconds on A's 1 cpu alone. */
const FULL = { jobs: 8, minUnits: 10, maxUnits: 40, rounds: 7_000_000 };
/** 4 jobs of 10 to 30 units of ~0.07 s: about 5.6 core-seconds, long enough for a balancer to act. */
const QUICK = { jobs: 4, minUnits: 10, maxUnits: 30, rounds: 3_000_000 };
/** A mode whose jobs have not all ended in this long is stopped, and the rest count as failures. */
const MODE_TIMEOUT_MS = { full: 240_000, quick: 90_000 };
const MAX_EVENTS = 200;
/** A quick batch ends in seconds: its processes may move after 1.5 s on a node (the default residence is longer). */
const QUICK_RESIDENCE_MS = 1500;
const nodeArgs = (quick: boolean) => ["--cpus", String(CPUS_PER_NODE), ...(quick ? ["--residence", String(QUICK_RESIDENCE_MS)] : [])];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The batch: units spread evenly from min to max, the longest first, each with its own seed. */
export function batchOf(quick: boolean): string[][] {
  const b = quick ? QUICK : FULL;
  return Array.from({ length: b.jobs }, (_, i) => {
    const units = Math.round(b.maxUnits - ((b.maxUnits - b.minUnits) * i) / (b.jobs - 1));
    return [String(units), String(b.rounds), String(i + 1)];
  });
}

const keyOf = (args: string[]) => args.join(" ");
export const mean = (xs: number[]) => (xs.length ? xs.reduce((a, x) => a + x, 0) / xs.length : NaN);

interface Running {
  run: JobRun;
  lines: string[];
  error: string | null;
  done: boolean;
}

/** Starts the batch on the entry node (A), each job followed across its moves. */
async function startBatch(cluster: Cluster, module: ModuleFile, jobs: string[][]): Promise<{ t0: number; running: Running[] }> {
  const running: Running[] = [];
  let t0 = NaN;
  for (const args of jobs) {
    const r: Running = {
      lines: [],
      error: null,
      done: false,
      run: { pid: "", args, startMs: NaN, endMs: NaN, migrations: 0, code: null, intact: null },
    };
    const started = await cluster.run(module, args, { at: null, onOutput: (l) => r.lines.push(l) });
    if (Number.isNaN(t0)) t0 = performance.now();
    r.run.pid = started.pid;
    r.run.startMs = performance.now() - t0;
    void started.ended!.then(
      (e) => {
        r.run.endMs = performance.now() - t0;
        r.run.code = e.code;
        r.error = e.error;
        r.done = true;
      },
      (e: Error) => {
        r.error = `lost its output: ${e.message}`;
        r.done = true;
      },
    );
    running.push(r);
  }
  return { t0, running };
}

/** Where each job runs, every SAMPLE_MS, until all have ended or the deadline. */
async function follow(cluster: Cluster, t0: number, running: Running[], deadline: number): Promise<ModeRun["timeline"]> {
  const timeline: ModeRun["timeline"] = [];
  while (running.some((r) => !r.done) && performance.now() < deadline) {
    const at = performance.now();
    const ps = await cluster.ps().catch(() => null);
    if (ps) {
      const where = new Map(ps.filter((p) => p.state === "running").map((p) => [p.pid, p.node]));
      timeline.push({ t: Math.round(at - t0), on: running.map((r) => (r.done ? null : (where.get(r.run.pid) ?? null))) });
    }
    await sleep(Math.max(0, SAMPLE_MS - (performance.now() - at)));
  }
  timeline.push({ t: Math.round(performance.now() - t0), on: running.map(() => null) });
  return timeline;
}

/** One mode on a fresh cluster of three. */
async function runMode(mode: BalanceMode, module: ModuleFile, o: BalanceOptions): Promise<Measured> {
  const begun = performance.now();
  const events: string[] = [];
  const onLine = (node: string, line: string) => {
    if (events.length < MAX_EVENTS && /\bbalancer: /.test(line)) events.push(`${node} ${line}`);
  };
  const { children } = await startNodes([...nodeArgs(o.quick), "--balance", mode], onLine);
  try {
    const cluster = new Cluster({ node: await children[0].url, secret: Buffer.alloc(0) });
    const jobs = batchOf(o.quick);
    const { t0, running } = await startBatch(cluster, module, jobs);
    o.log(`balance ${mode}: ${jobs.length} jobs started on ${NODES[0]} (${running.map((r) => r.run.pid).join(", ")})`);
    const timeout = o.quick ? MODE_TIMEOUT_MS.quick : MODE_TIMEOUT_MS.full;
    const timeline = await follow(cluster, t0, running, performance.now() + timeout);
    const failures: string[] = [];
    const ps = await cluster.ps().catch(() => []);
    for (const r of running) {
      r.run.migrations = ps.find((p) => p.pid === r.run.pid)?.migrations ?? 0;
      if (!r.done) failures.push(`${r.run.pid} (job ${keyOf(r.run.args)}) did not end within ${timeout / 1000} s`);
      else if (r.error || r.run.code !== 0)
        failures.push(`${r.run.pid} (job ${keyOf(r.run.args)}) ended with ${r.error ?? `code ${r.run.code}`}`);
    }
    const nodes = await cluster.nodes().catch(() => []);
    const counters = (name: string) => {
      const n = nodes.find((x) => x.name === name);
      return n?.balance ?? null;
    };
    return {
      mode,
      makespanMs: Math.max(...running.map((r) => r.run.endMs)) - Math.min(...running.map((r) => r.run.startMs)),
      meanCompletionMs: mean(running.map((r) => r.run.endMs - r.run.startMs)),
      migrations: running.reduce((a, r) => a + r.run.migrations, 0),
      balance: Object.fromEntries(NODES.map((n) => [n, counters(n)])),
      jobs: running.map((r) => r.run),
      timeline,
      failures,
      events,
      durationS: (performance.now() - begun) / 1000,
      outputs: running.map((r) => r.lines),
    };
  } finally {
    for (const n of children) n.child.kill("SIGINT");
    await sleep(500);
  }
}

/** The output of one unmoved run of `args` on a node of its own. */
async function referenceRun(module: ModuleFile, args: string[]): Promise<string[]> {
  const n = spawnNode("R", ["--balance", "off"], () => undefined);
  try {
    const lines: string[] = [];
    const started = await new Cluster({ node: await n.url, secret: Buffer.alloc(0) }).run(module, args, {
      at: null,
      onOutput: (l) => lines.push(l),
    });
    await started.ended;
    return lines;
  } finally {
    n.child.kill("SIGINT");
  }
}

/**
 * Compares every job's output with an unmoved run's of the same arguments (a
 * job of any mode that did not move, else one run for it); a job that differs
 * is a failure of its mode. Returns the arguments it ran once more for.
 */
async function checkOutputs(runs: Measured[], module: ModuleFile, o: BalanceOptions): Promise<string[][]> {
  const reference = new Map<string, string[]>();
  for (const r of runs)
    r.jobs.forEach((j, i) => {
      if (j.migrations === 0 && j.code === 0 && !reference.has(keyOf(j.args))) reference.set(keyOf(j.args), r.outputs[i]);
    });
  const extra = batchOf(o.quick).filter((a) => !reference.has(keyOf(a)));
  for (const args of extra) {
    o.log(`balance: an unmoved run of job ${keyOf(args)} to compare with`);
    reference.set(keyOf(args), await referenceRun(module, args));
  }
  for (const r of runs)
    r.jobs.forEach((j, i) => {
      j.intact = r.outputs[i].join("\n") === reference.get(keyOf(j.args))!.join("\n");
      if (!j.intact && j.code === 0) {
        r.failures.push(`${j.pid} (job ${keyOf(j.args)}, ${j.migrations} migrations): its output differs from an unmoved run's`);
      }
    });
  return extra;
}

export async function runBalance(o: BalanceOptions): Promise<BalanceResult> {
  const begun = performance.now();
  const module = { bytes: await buildCached(join(WORKLOAD_DIR, "job.ts"), {}, o.log), name: "job.wasm" };
  const runs: Measured[] = [];
  for (const mode of o.modes) {
    const r = await runMode(mode, module, o);
    o.log(
      `balance ${mode}: makespan ${(r.makespanMs / 1000).toFixed(1)} s, mean completion ${(r.meanCompletionMs / 1000).toFixed(1)} s, ` +
        `${r.migrations} migrations${r.failures.length ? `, ${r.failures.length} failures: ${r.failures[0]}` : ""}`,
    );
    runs.push(r);
  }
  const referenceRuns = await checkOutputs(runs, module, o);
  return {
    when: new Date().toISOString(),
    machine: { cpus: cpus().length },
    nodes: NODES,
    cpusPerNode: CPUS_PER_NODE,
    nodeArgs: nodeArgs(o.quick),
    quick: o.quick,
    jobs: batchOf(o.quick),
    runs: runs.map(({ outputs, ...r }) => (void outputs, r)),
    referenceRuns,
    durationS: (performance.now() - begun) / 1000,
  };
}
