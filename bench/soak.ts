// The soak benchmark (`migrant bench --soak N`): N migrations in a row of one
// guest, on three real nodes (A, B, C on loopback), each by the next strategy
// of the mix (round-robin over --strategies) to a random other node, with a
// short random pause between them.
//
// The guest (assembly/workloads/numbered.ts) prints "line <n> <node>" every
// few milliseconds and checks its own memory as it goes. The benchmark
// follows its output as a client does (Cluster.run with onOutput: across
// every move, from the next line it has not seen) and checks the numbers as
// they arrive: a number more than one past the last is lines lost, one not
// past it a line repeated. Anything else the guest prints ("corrupt ...") is
// kept and reported.
//
// Each node's resident memory (VmRSS in /proc/PID/status) is read before the
// guest starts, at every progress report, and after it has been killed at
// the end. The first migrations raise it once (a node compiles the module's
// variants, starts workers, its allocator keeps their pools: about 80 MiB
// with a 16 MiB guest), so the figure judged is the growth from the end of
// that warm-up (warmUp) to the end: what a node keeps per migration.

import { join } from "node:path";
import { spawnNode, type SpawnedNode } from "../host/cluster/spawn.js";
import { Cluster } from "../host/client/cluster.js";
import { buildCached } from "../host/build/cache.js";
import type { MigrationStats, Strategy } from "../host/migration/options.js";
import { WORKLOAD_DIR } from "./workloads.js";
import { percentile, rssMiB } from "./stats.js";
import { RECLAIM_EVERY_MS } from "../host/memory/reclaim.js";

export interface SoakOptions {
  migrations: number;
  strategies: Strategy[];
  /** the guest's buffer, MiB */
  sizeMiB: number;
  log(s: string): void;
}

export interface Spread {
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export interface SoakFailure {
  /** which migration (from 1) */
  n: number;
  strategy: Strategy;
  from: string;
  to: string;
  reason: string;
}

export interface NodeMemory {
  node: string;
  /** before the guest started (the nodes up and idle) */
  beforeMiB: number;
  /** after the warm-up migrations (warmUp: every node has run each strategy's code) */
  warmMiB: number;
  /** after the last, the guest killed and a second let pass */
  afterMiB: number;
  maxMiB: number;
  /** after - before */
  growthMiB: number;
  /** after - warm: the growth without the warm-up (compiled code, worker and allocator pools): what the target judges */
  growthAfterWarmMiB: number;
}

export interface SoakResult {
  when: string;
  nodes: string[];
  sizeMiB: number;
  lineMs: number;
  asked: number;
  done: number;
  completed: number;
  failed: number;
  /** the first 100 failures */
  failures: SoakFailure[];
  /** failures by reason (numbers stripped, so that alike ones count together) */
  reasons: Record<string, number>;
  byStrategy: Array<{ strategy: Strategy; completed: number; failed: number; downtime: Spread; serviceGap: Spread; total: Spread }>;
  lines: { received: number; last: number; lost: number; repeated: number; other: string[] };
  memory: NodeMemory[];
  /** RSS of each node (MiB) after so many migrations */
  samples: Array<{ after: number; rssMiB: Record<string, number> }>;
  downtimeMs: Spread;
  /**
   * per completed migration, the longest time between two output lines the
   * client received around it (the guest prints every lineMs): the pause a
   * reader sees, with the freeze, the client following the process to its
   * new node, and the lines' way there
   */
  serviceGapMs: Spread;
  totalMs: Spread;
  durationS: number;
  /** why the soak stopped before N migrations (the guest ended, say), or null */
  stopped: string | null;
}

/** Milliseconds between the guest's lines. */
const LINE_MS = 5;
/** A migration that has not ended in this long counts as failed. */
const MIGRATION_TIMEOUT_MS = 60_000;
const PAUSE_MS = 40;
export const NODES = ["A", "B", "C"];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export const spread = (xs: number[]): Spread => ({
  p50: percentile(xs, 50),
  p90: percentile(xs, 90),
  p99: percentile(xs, 99),
  max: xs.length ? Math.max(...xs) : NaN,
});

/**
 * The numbers of the guest's lines as they arrive: lost and repeated ones
 * counted; and the longest time between two lines since gapFrom() (the
 * service gap a reader of the output sees around a migration).
 */
export class LineCheck {
  received = 0;
  last = 0;
  lost = 0;
  repeated = 0;
  readonly other: string[] = [];
  private lastAt = 0;
  private widest = 0;

  /** From now on, the widest gap between lines is measured anew. */
  gapFrom(): void {
    this.widest = 0;
  }

  /** The longest time between two lines since gapFrom(), ms. */
  get gapMs(): number {
    return this.widest;
  }

  readonly take = (line: string): void => {
    const m = /^line (\d+) \S+$/.exec(line);
    if (!m) {
      if (this.other.length < 20) this.other.push(line);
      return;
    }
    const now = performance.now();
    if (this.lastAt) this.widest = Math.max(this.widest, now - this.lastAt);
    this.lastAt = now;
    const n = Number(m[1]);
    this.received++;
    if (n <= this.last) this.repeated++;
    else {
      this.lost += n - this.last - 1;
      this.last = n;
    }
  };
}

/** Starts nodes A, B and C on loopback, each with `args`, handing every line a node prints to `onLine` (the balance benchmark's too). */
export async function startNodes(
  args: string[] = [],
  onLine: (node: string, line: string) => void = () => undefined,
): Promise<{ children: SpawnedNode[]; urls: string[] }> {
  const children: SpawnedNode[] = [];
  const urls: string[] = [];
  for (const name of NODES) {
    const n = spawnNode(name, [...args, ...(urls.length ? ["--join", urls[0]] : [])], (line) => onLine(name, line));
    children.push(n);
    urls.push(await n.url);
  }
  await sleep(1000); // every node has heard every other's heartbeat
  return { children, urls };
}

/** A migration's statistics, or a failed result with why (a refusal, a timeout). */
async function migrateOnce(c: Cluster, pid: string, from: string, to: string, strategy: Strategy): Promise<MigrationStats> {
  const failed = (reason: string) => ({ pid, from, to, strategy, result: "failed", error: reason }) as MigrationStats;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<MigrationStats>((r) => (timer = setTimeout(() => r(failed("no result within 60 s")), MIGRATION_TIMEOUT_MS)));
  try {
    return await Promise.race([c.migrate(pid, to, { strategy }).catch((e: Error) => failed(e.message)), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Where the process runs now, by the cluster's ps (after a failure: it may have moved anyway). */
async function whereIs(c: Cluster, pid: string, fallback: string): Promise<string> {
  const p = (await c.ps().catch(() => [])).find((x) => x.pid === pid);
  return p?.node ?? fallback;
}

const reasonOf = (s: string) => s.replace(/\d+(\.\d+)?/g, "N").slice(0, 200);

interface Soaking {
  cluster: Cluster;
  pid: string;
  /** the node it runs on now */
  where: string;
  check: LineCheck;
  runs: MigrationStats[];
  /** per migration (as runs): the longest time between two output lines around it, ms */
  gaps: number[];
  failures: SoakFailure[];
  samples: SoakResult["samples"];
  rss(): Record<string, number>;
  /** why it stopped early, once it has */
  stopped: string | null;
}

/** Migrations after which every node has run every strategy's code, both ways (the RSS after them is the warm figure). */
export const warmUp = (n: number) => Math.min(40, Math.max(1, Math.round(n / 10)));

/** The migrations, one after the other, with a progress line every 5% (and at least every 10 s). */
async function migrations(o: SoakOptions, s: Soaking): Promise<void> {
  const every = Math.max(1, Math.round(o.migrations / 20));
  const warm = warmUp(o.migrations);
  let lastReport = performance.now();
  for (let i = 0; i < o.migrations && !s.stopped; i++) {
    const strategy = o.strategies[i % o.strategies.length];
    const others = NODES.filter((n) => n !== s.where);
    const to = others[Math.floor(Math.random() * others.length)];
    s.check.gapFrom();
    const r = await migrateOnce(s.cluster, s.pid, s.where, to, strategy);
    // the gap is over once lines come again: wait for two more (bounded)
    const seen = s.check.received;
    for (let t = 0; t < 100 && s.check.received < seen + 2 && !s.stopped; t++) await sleep(LINE_MS);
    s.gaps.push(s.check.gapMs);
    s.runs.push(r);
    if (r.result === "completed") s.where = to;
    else {
      s.failures.push({ n: i + 1, strategy, from: s.where, to, reason: r.error ?? r.result });
      s.where = await whereIs(s.cluster, s.pid, s.where);
    }
    if ((i + 1) % every === 0 || i + 1 === warm || performance.now() - lastReport > 10_000 || i + 1 === o.migrations) {
      lastReport = performance.now();
      s.samples.push({ after: i + 1, rssMiB: s.rss() });
      o.log(progressLine(i + 1, o.migrations, s));
    }
    await sleep(Math.random() * PAUSE_MS);
  }
}

export async function runSoak(o: SoakOptions): Promise<SoakResult> {
  const bytes = await buildCached(join(WORKLOAD_DIR, "numbered.ts"), {}, o.log);
  const t0 = performance.now();
  const { children, urls } = await startNodes();
  const rss = () => Object.fromEntries(NODES.map((n, i) => [n, rssMiB(children[i].child.pid)]));
  try {
    const cluster = new Cluster({ node: urls[0], secret: Buffer.alloc(0) });
    const before = rss();
    const check = new LineCheck();
    const args = [String(o.sizeMiB), String(LINE_MS), "0"];
    const started = await cluster.run({ bytes, name: "numbered.wasm" }, args, { at: null, onOutput: check.take });
    const s: Soaking = {
      cluster,
      pid: started.pid,
      where: started.node,
      check,
      runs: [],
      gaps: [],
      failures: [],
      samples: [],
      rss,
      stopped: null,
    };
    s.samples.push({ after: 0, rssMiB: before });
    let finishing = false;
    void started.ended!.then(
      (e) => finishing || (s.stopped ??= `the guest ended: ${e.error ?? `exit code ${e.code}`}`),
      (e: Error) => finishing || (s.stopped ??= `lost the guest's output: ${e.message}`),
    );
    o.log(
      `soak: ${o.migrations} migrations of a ${o.sizeMiB} MiB guest (${s.pid}) among ${NODES.join(", ")}, by ${o.strategies.join(", ")}`,
    );
    await sleep(300);
    await migrations(o, s);
    await sleep(300); // the lines printed since the last move arrive
    finishing = true;
    await cluster.kill(s.pid).catch(() => undefined);
    await Promise.race([started.ended, sleep(5000)]).catch(() => undefined);
    // the nodes have let go of the process and collected its memory (memory/reclaim.ts: at most one collection per RECLAIM_EVERY_MS)
    await sleep(RECLAIM_EVERY_MS + 1000);
    const after = rss();
    const warm = (s.samples.find((x) => x.after >= warmUp(o.migrations)) ?? s.samples[0]).rssMiB;
    const memory = NODES.map((n) => ({
      node: n,
      beforeMiB: before[n],
      warmMiB: warm[n],
      afterMiB: after[n],
      maxMiB: Math.max(...s.samples.map((x) => x.rssMiB[n]), after[n]),
      growthMiB: after[n] - before[n],
      growthAfterWarmMiB: after[n] - warm[n],
    }));
    return summarize(o, { ...s, memory, durationS: (performance.now() - t0) / 1000 });
  } finally {
    for (const n of children) n.child.kill("SIGINT");
    await sleep(300);
  }
}

function progressLine(done: number, of: number, s: Soaking): string {
  const { runs, check } = s;
  const rss = s.samples[s.samples.length - 1].rssMiB;
  const ok = runs.filter((r) => r.result === "completed");
  const d = spread(ok.map((r) => r.downtimeMs));
  return (
    `soak: ${done}/${of} migrations (${ok.length} completed, ${runs.length - ok.length} failed), ` +
    `${check.received} lines, ${check.lost} lost, ${check.repeated} repeated; downtime p50 ${d.p50.toFixed(2)} ms, max ${d.max.toFixed(1)} ms; ` +
    `service gap p50 ${spread(s.gaps).p50.toFixed(1)} ms; ` +
    `RSS ${Object.entries(rss)
      .map(([n, m]) => `${n} ${m.toFixed(0)}`)
      .join(", ")} MiB`
  );
}

interface Measured {
  runs: MigrationStats[];
  gaps: number[];
  failures: SoakFailure[];
  check: LineCheck;
  memory: NodeMemory[];
  samples: SoakResult["samples"];
  stopped: string | null;
  durationS: number;
}

function summarize(o: SoakOptions, m: Measured): SoakResult {
  const ok = m.runs.filter((r) => r.result === "completed");
  const gapsOf = (strategy?: Strategy) =>
    m.gaps.filter((_, i) => m.runs[i].result === "completed" && (!strategy || m.runs[i].strategy === strategy));
  const reasons: Record<string, number> = {};
  for (const f of m.failures) reasons[reasonOf(f.reason)] = (reasons[reasonOf(f.reason)] ?? 0) + 1;
  return {
    when: new Date().toISOString(),
    nodes: NODES,
    sizeMiB: o.sizeMiB,
    lineMs: LINE_MS,
    asked: o.migrations,
    done: m.runs.length,
    completed: ok.length,
    failed: m.runs.length - ok.length,
    failures: m.failures.slice(0, 100),
    reasons,
    byStrategy: o.strategies.map((strategy) => {
      const mine = ok.filter((r) => r.strategy === strategy);
      return {
        strategy,
        completed: mine.length,
        failed: m.runs.filter((r) => r.strategy === strategy).length - mine.length,
        downtime: spread(mine.map((r) => r.downtimeMs)),
        serviceGap: spread(gapsOf(strategy)),
        total: spread(mine.map((r) => r.totalMs)),
      };
    }),
    lines: { received: m.check.received, last: m.check.last, lost: m.check.lost, repeated: m.check.repeated, other: m.check.other },
    memory: m.memory,
    samples: m.samples,
    downtimeMs: spread(ok.map((r) => r.downtimeMs)),
    serviceGapMs: spread(gapsOf()),
    totalMs: spread(ok.map((r) => r.totalMs)),
    durationS: m.durationS,
    stopped: m.stopped,
  };
}
