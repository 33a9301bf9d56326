// Live migration between real node processes on 127.0.0.1: every strategy on
// every example guest at a random moment ends like an unmigrated run; a counter
// moved 20 times loses and repeats no line; and each failure has its outcome.

import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { NodeInfo, ProcInfo } from "../host/cluster/views.js";
import { leastLoaded } from "../host/client/placement.js";
import { STRATEGIES, type MigrationStats, type Strategy } from "../host/migration/options.js";
import { Cluster } from "../host/client/cluster.js";
import { EXAMPLE_GUESTS, FLOATS, guestBytes, type Guest } from "./guests.js";
import { ROOT } from "../host/paths.js";
import { background, eventually, lines, migrant, startNode, type RunningNode } from "./processes.js";
import { random } from "./seed.js";

const dir = mkdtempSync(join(tmpdir(), "migrant-migration-"));
const HEARTBEAT = ["--heartbeat", "200"];
let A: RunningNode, B: RunningNode, C: RunningNode;
const nodes: RunningNode[] = [];
const wasm = new Map<string, string>();
const reference = new Map<string, { stdout: string; code: number; ms: number }>();
/**
 * arguments that keep each example busy for a second or more, long enough to be caught mid-run (float, bytes,
 * grow and token-ring ran 0.4-0.8 s on this machine on 2026-12-08 with their earlier arguments, and ended before
 * a move could reach them: attaching a follower alone takes a few hundred ms)
 */
const LONGER: Record<string, string[]> = {
  counter: ["9"],
  recursion: ["3000", "900"],
  indirect: ["30000000"],
  strings: ["600000"],
  float: ["2600"],
  bytes: ["16", "6000"],
  grow: ["360"],
  "token-ring": ["0", "1", "1200", "100"],
};
const argsOf = (g: Guest) => LONGER[g.name] ?? g.args;

const at = (n: RunningNode) => ({ MIGRANT_NODE: n.url });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** counter lines name the node; compare runs without it */
const unnamed = (s: string) => s.replace(/ on [A-Z]$/gm, "");

async function node(name: string, args: string[] = [], env: Record<string, string> = {}): Promise<RunningNode> {
  const n = await startNode(name, [...HEARTBEAT, ...args], { MIGRANT_VERIFY: "1", ...env });
  nodes.push(n);
  return n;
}

async function ps(n: RunningNode): Promise<ProcInfo[]> {
  return JSON.parse((await migrant(["ps", "--json"], at(n))).stdout);
}

async function migrate(pid: string, to: string, strategy: string, extra: string[] = [], via = A): Promise<MigrationStats> {
  const r = await migrant(["migrate", pid, "--to", to, "--strategy", strategy, "--json", ...extra], at(via));
  if (r.stdout) return JSON.parse(r.stdout);
  // refused before it began (the process had ended, say): no statistics, just the message
  return { result: "failed", error: r.stderr.trim() } as MigrationStats;
}

/**
 * Migrates through the client library in this process: no CLI start-up between
 * the chosen moment and the migration (the CLI's migrate is tested below).
 */
async function migrateNow(pid: string, to: string, strategy: Strategy): Promise<MigrationStats> {
  try {
    return await new Cluster({ node: A.url, secret: Buffer.alloc(0) }).migrate(pid, to, { strategy });
  } catch (e) {
    // refused before it began (the process had ended, say): no statistics, just the message
    return { result: "failed", error: (e as Error).message } as MigrationStats;
  }
}

/**
 * Starts a guest detached on `on` and follows it with `migrant attach`, once
 * that has its first line: a follower that attached only after a move would
 * see just the lines kept by the new node (every guest prints at its start).
 */
async function launch(g: Guest, args: string[], on: RunningNode) {
  const pid = (await migrant(["run", wasm.get(g.name)!, ...args, "-d"], at(on))).stdout.trim();
  const started = performance.now();
  expect(pid).toMatch(/^[A-Z]\.\d+$/);
  const follower = background(["attach", pid], at(on));
  await follower.firstLine;
  /** waits until `ms` after the process started (at once if that has passed) */
  const until = (ms: number) => sleep(started + ms - performance.now());
  return { pid, follower, until };
}

beforeAll(async () => {
  for (const g of [...EXAMPLE_GUESTS, FLOATS]) {
    const f = join(dir, `${g.name}.wasm`);
    writeFileSync(f, await guestBytes(g));
    wasm.set(g.name, f);
  }
  A = await node("A");
  B = await node("B", ["--join", A.url]);
  C = await node("C", ["--join", A.url]);
  await eventually(async () =>
    (await ps(A)) && JSON.parse((await migrant(["nodes", "--json"], at(A))).stdout).length === 3 ? true : undefined,
  );
  for (const g of EXAMPLE_GUESTS) {
    const r = await migrant(["run", wasm.get(g.name)!, ...argsOf(g), "-d"], at(A));
    const pid = r.stdout.trim();
    const t0 = performance.now();
    const end = await migrant(["attach", pid], at(A));
    reference.set(g.name, { stdout: end.stdout, code: end.code, ms: performance.now() - t0 });
  }
});

afterAll(() => {
  for (const n of nodes) n.child.kill("SIGKILL");
});

/** Every pause the guest saw is measured, on the one clock, and adds up; every fault's latency is kept. */
function expectPauses(stats: MigrationStats): void {
  const s = stats;
  expect(s.downtimeMs).toBeGreaterThan(0);
  expect(s.handoverMs).toBeGreaterThan(0);
  const tracked = s.strategy === "precopy" || s.strategy === "hybrid";
  // the switch to tracking: a pause of its own, inside the whole switch (warming the worker while the guest runs)
  if (tracked) expect(s.switchPauseMs).toBeGreaterThan(0);
  else expect(s.switchPauseMs).toBe(0);
  expect(s.switchPauseMs).toBeLessThanOrEqual(s.switchMs + 1);
  // the switch back to plain (post-copy's destination): measured unless the guest ended first
  if (s.strategy === "freeze" || s.strategy === "precopy") expect(s.switchBackPauseMs).toBe(0);
  expect(s.pausesMs).toBeCloseTo(s.downtimeMs + s.switchPauseMs + s.switchBackPauseMs, 6);
  // the timeline: the source's steps one after the other from setup to the end, the strategy's own among them
  const names = s.phases.map((p) => p.name);
  expect(names[0]).toBe("setup");
  s.phases.forEach((p, i) => {
    expect(p.endMs).toBeGreaterThanOrEqual(p.startMs);
    if (i > 0) expect(p.startMs).toBe(s.phases[i - 1].endMs);
  });
  expect(s.phases[s.phases.length - 1].endMs).toBeCloseTo(s.totalMs, 1);
  expect(names).toEqual(expect.arrayContaining(["handover", "let go"]));
  if (tracked) expect(names).toEqual(expect.arrayContaining(["switch to tracking", "round 1"]));
  const last = s.strategy === "postcopy" || s.strategy === "hybrid" ? "post-copy: faults and push" : "let go";
  expect(names[names.length - 1]).toBe(last);
  // every post-copy fault's latency is recorded (the report's distribution; a page that came as it was asked for
  // has none), and the percentiles come from them
  expect(s.faultLatenciesUs.length).toBeLessThanOrEqual(Math.min(s.faults, 20_000));
  if (s.faults >= 3) expect(s.faultLatenciesUs.length).toBeGreaterThan(0);
  // the percentiles come from the recorded latencies (none when every faulted page came as it was asked for)
  if (s.faultLatenciesUs.length) expect(Math.max(...s.faultLatenciesUs)).toBeGreaterThanOrEqual(s.faultP99Us - 1);
}

describe.each(STRATEGIES)("strategy %s", (strategy) => {
  it("moves every example guest at a random moment; output and exit code equal an unmigrated run's", async () => {
    let moved = 0;
    const outcomes: string[] = [];
    for (const g of EXAMPLE_GUESTS) {
      const ref = reference.get(g.name)!;
      const { pid, follower, until } = await launch(g, argsOf(g), A);
      await until(random() * ref.ms * 0.4);
      const stats = await migrateNow(pid, "B", strategy);
      outcomes.push(`${g.name}: ${stats.result}${stats.error ? ` (${stats.error})` : ""}`);
      const end = await follower.done;
      expect(unnamed(end.stdout), `${g.name} (${stats.result}: ${stats.error})`).toBe(unnamed(ref.stdout));
      expect(end.code).toBe(ref.code);
      if (stats.result === "completed") {
        moved++;
        expect(stats.strategy).toBe(strategy);
        expectPauses(stats);
        // the counter runs on for seconds after the move: post-copy's destination switches it back to plain
        if (g.name === "counter" && (strategy === "postcopy" || strategy === "hybrid")) expect(stats.switchBackPauseMs).toBeGreaterThan(0);
        if (g.name === "counter") expect(end.stdout).toMatch(/ on A\n[\s\S]* on B\n$/);
      } else {
        expect(stats.error).toMatch(/ended before it could move|is not running/);
      }
    }
    expect(moved, outcomes.join("; ")).toBeGreaterThanOrEqual(5);
  });
});

describe("repeated migration", () => {
  it("moves a counter 20 times, strategies mixed: no line lost or repeated, node() follows it", async () => {
    const counter = EXAMPLE_GUESTS.find((g) => g.name === "counter")!;
    // 25 s of counting: time for 20 migrations (each a CLI process) on a loaded machine
    const total = 250;
    const { pid, follower } = await launch(counter, [String(total)], A);
    const route = ["B", "C", "A"];
    const path: string[] = ["A"];
    for (let i = 0; i < 20; i++) {
      const to = route[i % 3];
      const stats = await migrate(pid, to, STRATEGIES[i % 4]);
      expect(stats.result, stats.error ?? "").toBe("completed");
      path.push(to);
      await eventually(async () => (await ps(A)).find((p) => p.pid === pid && p.node === to));
      await sleep(60);
    }
    const end = await follower.done;
    expect(end.code).toBe(0);
    const got = lines(end.stdout);
    expect(got.map((l) => Number(l.split(" ")[0]))).toEqual(Array.from({ length: total }, (_, i) => i));
    // the node names appear in the order of the moves (a fast move may print no line on a stop)
    const seen = got.map((l) => l.split(" on ")[1]).filter((n, i, a) => i === 0 || a[i - 1] !== n);
    let j = 0;
    for (const n of seen) {
      while (j < path.length && path[j] !== n) j++;
      expect(j, `node ${n} out of order in ${seen.join(",")} for path ${path.join(",")}`).toBeLessThan(path.length);
    }
    expect(seen.length).toBeGreaterThanOrEqual(15);
    expect((await ps(B)).find((p) => p.pid === pid)?.migrations).toBe(20);
  });
});

describe("state that JSON cannot carry as it is", () => {
  it("moves float globals holding NaN, +-Infinity and -0 with the process", async () => {
    const args = ["60"];
    const ref = await migrant(["run", wasm.get(FLOATS.name)!, ...args], at(A));
    expect(ref.stdout).toMatch(/^0 NaN Infinity -Infinity -Infinity\n/);
    const { pid, follower } = await launch(FLOATS, args, A);
    for (const [to, strategy] of [
      ["B", "freeze"],
      ["A", "postcopy"],
    ] as const) {
      const stats = await migrateNow(pid, to, strategy);
      expect(stats.result, stats.error ?? "").toBe("completed");
      await sleep(100);
    }
    const end = await follower.done;
    expect(end.stdout).toBe(ref.stdout);
    expect(end.code).toBe(0);
  });
});

describe("failures", () => {
  const bytes = () => EXAMPLE_GUESTS.find((g) => g.name === "bytes")!;

  it("the destination refuses (not enough memory): failure before any freeze, the process carries on", async () => {
    const D = await node("D", ["--join", A.url, "--max-memory", "512M"]);
    await eventually(
      async () =>
        (await ps(A)) &&
        (JSON.parse((await migrant(["nodes", "--json"], at(A))).stdout) as Array<{ name: string }>).find((n) => n.name === "D"),
    );
    try {
      const counter = EXAMPLE_GUESTS.find((g) => g.name === "counter")!;
      const { pid, follower } = await launch(counter, ["20"], A);
      await sleep(150);
      const stats = await migrate(pid, "D", "precopy");
      expect(stats.result).toBe("failed");
      expect(stats.error).toMatch(/refused: node D cannot take a guest/);
      expect(stats.downtimeMs).toBe(0);
      const end = await follower.done;
      expect(lines(end.stdout)).toEqual(Array.from({ length: 20 }, (_, i) => `${i} on A`));
    } finally {
      D.child.kill("SIGKILL"); // the tests after it must not find a node that refuses everything
    }
  });

  it("a corrupted page batch fails its checksum: migration aborted, the process intact on the source", async () => {
    const S = await node("S", ["--join", A.url], { MIGRANT_TEST_CORRUPT_BATCH: "2" });
    try {
      const g = bytes();
      // about 2 s: a migrate CLI starting on a loaded machine does not outlast it (2500 did, once)
      const args = ["16", "5000"];
      const ref = await migrant(["run", wasm.get(g.name)!, ...args], at(S));
      const { pid, follower } = await launch(g, args, S);
      await sleep(100);
      const stats = await migrate(pid, "B", "precopy", [], S);
      expect(stats.result).toBe("failed");
      expect(stats.error).toMatch(/checksum/);
      const end = await follower.done;
      expect(end.stdout).toBe(ref.stdout);
      expect(end.code).toBe(0);
    } finally {
      S.child.kill("SIGKILL"); // the placement test after it must not find a node S
    }
  });

  it("the destination dies before the handover: the migration fails, the process keeps running on the source", async () => {
    const T = await node("T", ["--join", A.url]);
    await eventually(async () =>
      (JSON.parse((await migrant(["nodes", "--json"], at(A))).stdout) as Array<{ name: string }>).find((n) => n.name === "T"),
    );
    const g = bytes();
    const { pid, follower } = await launch(g, ["32", "100000"], A);
    await sleep(300);
    const pending = migrate(pid, "T", "precopy", ["--bandwidth", "20"]);
    await sleep(500);
    T.child.kill("SIGKILL");
    const stats = await pending;
    expect(stats.result).toBe("failed");
    expect(stats.error).toMatch(/went away|closed/);
    const info = await eventually(async () => (await ps(A)).find((p) => p.pid === pid));
    expect(info).toMatchObject({ node: "A", state: "running", migrations: 0 });
    const k = await migrant(["kill", pid], at(A));
    expect(k.code).toBe(0);
    await follower.done;
  });

  it("the source dies during post-copy: the process stops with an error naming the missing pages, never reads zeros", async () => {
    const U = await node("U", ["--join", A.url]);
    await eventually(async () =>
      (JSON.parse((await migrant(["nodes", "--json"], at(A))).stdout) as Array<{ name: string }>).find((n) => n.name === "U"),
    );
    const g = bytes();
    const { pid } = await launch(g, ["32", "100000"], U);
    await sleep(300);
    // with --no-push the migration lasts until every page was faulted in: let it run
    const pending = background(["migrate", pid, "--to", "B", "--strategy", "postcopy", "--no-push", "--json"], at(U));
    // the handover is done when B lists the process; then the source dies
    await eventually(async () => (await ps(B)).find((p) => p.pid === pid && p.node === "B"));
    U.child.kill("SIGKILL");
    const ended = await eventually(async () => (await ps(B)).find((p) => p.pid === pid && p.state !== "running"), 8000);
    expect(ended.state).toBe("trapped");
    expect(ended.error).toMatch(/source node died during post-copy with \d+ pages still missing/);
    const r = await pending.done; // its client lost the source node
    expect(r.code).not.toBe(0);
  });

  it("a migration can be cancelled: the process keeps running on the source as if nothing happened", async () => {
    const g = bytes();
    const args = ["16", "16000"]; // a few seconds: still running when the cancel comes, whatever the machine
    const ref = await migrant(["run", wasm.get(g.name)!, ...args], at(A));
    const { pid, follower } = await launch(g, args, A);
    await sleep(100);
    const bg = background(["migrate", pid, "--to", "B", "--strategy", "precopy", "--bandwidth", "4", "--json"], at(A));
    await sleep(500);
    const c = await migrant(["migrate", "--cancel", pid], at(A));
    expect(c.code, c.stderr).toBe(0);
    const r = await bg.done;
    const stats = JSON.parse(r.stdout) as MigrationStats;
    expect(stats.result).toBe("cancelled");
    expect(r.code).toBe(1);
    const end = await follower.done;
    expect(end.stdout).toBe(ref.stdout);
    expect((await ps(A)).find((p) => p.pid === pid)).toMatchObject({ node: "A", migrations: 0 });
  });
});

describe("placement", () => {
  it("chooses the least (demand + 1) / cpus, then fewer running, then the name, and refuses when no node can take it", () => {
    const n = (name: string, o: Partial<NodeInfo>): NodeInfo => ({
      ...{ name, url: `ws://${name}`, state: "up", load: 0, procs: 0, cpus: 2, demand: 0, memory: 0, maxMemory: 1 << 30 },
      ...{ silentMs: 0, loopMs: 0, reason: null, mail: null },
      ...o,
    });
    // A: 4 processes that mostly wait (demand 0.4 of 1 cpu); B: one CPU-bound (1 of 2); C: 2 of 4; D is down
    const [a, b, c] = [n("A", { load: 4, demand: 0.4, cpus: 1 }), n("B", { load: 1, demand: 1 }), n("C", { load: 3, demand: 2, cpus: 4 })];
    const nodes = [a, b, c, n("D", { state: "down" })];
    expect(leastLoaded(nodes, new Set()).name).toBe("C"); // (2 + 1) / 4 = 0.75, against 1.4 and 1
    expect(leastLoaded(nodes, new Set(["C"])).name).toBe("B"); // 1 against 1.4: A asks less, but of 1 cpu: it would share it
    // ties: fewer running, then the name
    expect(leastLoaded([b, n("C", { load: 3, demand: 3, cpus: 4 })], new Set()).name).toBe("B");
    expect(leastLoaded([n("X", { load: 2 }), n("W", { load: 1 }), n("V", { load: 1 })], new Set()).name).toBe("V");
    // a node at its memory limit cannot take it; none left: refused
    expect(() => leastLoaded([n("A", { memory: 1 << 30 }), n("B", { state: "left" })], new Set())).toThrow(/no node .* to take it/);
  });

  it("run --on auto places a new process where it runs soonest: by CPU demand against capacity, not by count", async () => {
    const counter = EXAMPLE_GUESTS.find((g) => g.name === "counter")!;
    const job = join(dir, "job.wasm");
    writeFileSync(job, await guestBytes({ name: "job", file: join(ROOT, "assembly", "workloads", "job.ts"), args: [] }));
    const busy: string[] = [];
    // A: three processes that mostly sleep; B and C: one CPU-bound job each (demand about 1), kept busy for the test
    for (let i = 0; i < 3; i++) busy.push((await migrant(["run", wasm.get(counter.name)!, "0", "-d"], at(A))).stdout.trim());
    for (const on of ["B", "C"]) busy.push((await migrant(["run", job, "2000", "2000000", "1", "-d", "--on", on], at(A))).stdout.trim());
    type Figures = { name: string; state: string; load: number; demand: number; cpus: number };
    try {
      // once measured (unmeasured processes count demand 1): A's demand is the least, though it runs the most
      const figures = await eventually(
        async () => {
          const l = JSON.parse((await migrant(["nodes", "--json"], at(A))).stdout) as Figures[];
          const [a, b, c] = ["A", "B", "C"].map((n) => l.find((x) => x.name === n)!);
          return a.load === 3 && a.demand < 0.6 && b.demand > 0.7 && c.demand > 0.7 ? l : undefined;
        },
        20_000,
        "the nodes' demands measured",
      );
      // the rule: the least (demand + 1) / cpus; by count, B or C (one running each) would be chosen
      const soonest = figures
        .filter((n) => n.state === "up")
        .sort((a, b) => (a.demand + 1) / a.cpus - (b.demand + 1) / b.cpus || a.load - b.load || a.name.localeCompare(b.name))[0];
      expect(soonest.name).toBe("A");
      // the tables show it: B's job wants a whole core; B's demand against its capacity
      const ps = (await migrant(["ps"], at(A))).stdout;
      expect(ps).toMatch(/^PID\s+NAME\s+NODE\s+STATE\s+CPU\s+DEMAND\s+MEMORY/);
      expect(ps).toMatch(
        new RegExp(`^${busy[3].replace(".", "\\.")}\\s+-\\s+B\\s+running\\s+[01]\\.\\d\\d\\s+(0\\.[6-9]\\d|1\\.00)\\s`, "m"),
      );
      const table = (await migrant(["nodes"], at(A))).stdout;
      expect(table).toMatch(/^NAME\s+ADDRESS\s+STATE\s+LOAD\s+DEMAND\/CPUS\s+PROCESSES/);
      expect(table).toMatch(/^B\s+ws:\S+\s+up\s+1\s+(0\.[6-9]|1\.0)\/\d+(\.\d+)?\s/m);
      const r = await migrant(["run", wasm.get(counter.name)!, "2", "--on", "auto"], at(A));
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/placing it on node A \(CPU demand 0\.\d of its \d+(\.\d+)? cpus, 3 running\)/);
      expect(r.stdout).toBe("0 on A\n1 on A\n");
    } finally {
      for (const pid of busy) await migrant(["kill", pid], at(A));
    }
  });

  it("drain moves every process off a node, none lost", async () => {
    const counter = EXAMPLE_GUESTS.find((g) => g.name === "counter")!;
    const launched: Array<{ pid: string; follower: ReturnType<typeof background> }> = [];
    // 50 lines take 5 s: long enough that none ends before the drain reaches it on a loaded machine
    for (let i = 0; i < 3; i++) launched.push(await launch(counter, ["50"], C));
    await sleep(300);
    const r = await migrant(["drain", "C"], at(A));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/drained C: 3 of 3 processes moved/);
    const list = await eventually(async () => {
      const l = (await ps(A)).filter((p) => launched.some((x) => x.pid === p.pid));
      return l.every((p) => p.node !== "C") ? l : undefined;
    });
    expect(list.length).toBe(3);
    for (const { follower } of launched) {
      const end = await follower.done;
      expect(
        lines(end.stdout).map((l) => Number(l.split(" ")[0])),
        end.stderr + "\n" + [...A.output, ...B.output, ...C.output].filter((l) => l.startsWith("*")).join("\n"),
      ).toEqual(Array.from({ length: 50 }, (_, i) => i));
    }
  });
});
