// The load balancer, end to end (issue 11): real nodes on 127.0.0.1 with
// `--cpus` and `--balance`, CPU-bound jobs (assembly/workloads/job.ts), a
// chatty pair (a token ring of two) and a guest with a lot of memory (bytes),
// driven through the CLI and the client library. Six jobs started on one node
// of three are spread two per node, none lost, every output equal to an
// unmoved run's; a balanced load moves nothing; no process moves twice within
// its residence time; a chatty pair ends up on one node, its messages intact;
// a destination killed during a move leaves the process where it was; and each
// mode, `off` included, does what it says. The balancer's lines on every node
// are read as they come (tests/balance-cluster.ts).

import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ProcInfo } from "../host/cluster/views.js";
import { guestBytes } from "./guests.js";
import { eventually, migrant } from "./processes.js";
import { sleep } from "./talking-cluster.js";
import {
  BalanceCluster,
  BYTES,
  HEARTBEAT,
  JOB,
  RING,
  reference,
  residenceViolations,
  type Arrival,
  type BalanceEvent,
} from "./balance-cluster.js";

/** Six of these share two cores for about 20 s: long enough to be spread, short enough for the file's time. */
const JOB_ARGS = ["240", "1000000"];
/** A job that outlives its test (its nodes are stopped under it). */
const FOREVER = ["1000000"];
/** the three-node cluster's residence time: short, so that its moves start soon */
const RESIDENCE = 2000;
const REASON = /^(sender|receiver|pair): /;
const CLEAN = { code: 0, error: null };

const dir = mkdtempSync(join(tmpdir(), "migrant-balance-"));
let jobWasm: string;
/** the lines of an unmoved run of job JOB_ARGS (computed here while the first tests run) */
let jobReference: Promise<string[]>;

beforeAll(async () => {
  jobWasm = join(dir, "job.wasm");
  writeFileSync(jobWasm, await guestBytes(JOB));
  jobReference = reference(JOB, JOB_ARGS);
  jobReference.catch(() => undefined); // awaited by the test that needs it
});

const of = (list: ProcInfo[], pids: string[]) => pids.map((pid) => list.find((p) => p.pid === pid));
const count = (events: BalanceEvent[], node: string, kind: string) => events.filter((e) => e.node === node && e.kind === kind).length;

/** Waits until `n` of `pids` are running (all unless told). */
async function running(c: BalanceCluster, pids: string[], n = pids.length): Promise<void> {
  await eventually(async () =>
    (await c.c.ps()).filter((p) => pids.includes(p.pid) && p.state === "running").length === n ? true : undefined,
  );
}

describe("three nodes with --cpus 2 --balance symmetric", () => {
  let three: BalanceCluster;
  beforeAll(async () => {
    three = await BalanceCluster.start(["A", "B", "C"], ["--cpus", "2", "--balance", "symmetric", "--residence", String(RESIDENCE)]);
  });
  afterAll(() => three?.stop());

  it("balanced load (two jobs per node, placed by hand): nothing moves over 8 s, and a dry run says why", async () => {
    const where = ["A", "A", "B", "B", "C", "C"];
    const started = await Promise.all(where.map((on) => three.cli(["run", jobWasm, ...FOREVER, "-d", "--on", on])));
    const pids = started.map((r) => {
      expect(r.code, r.stderr).toBe(0);
      return r.stdout.trim();
    });
    await sleep(8000);
    for (const [i, p] of of(await three.ps(), pids).entries())
      expect(p, pids[i]).toMatchObject({ node: where[i], state: "running", migrations: 0 });
    for (const me of await Promise.all(["A", "B", "C"].map((name) => three.self(name)))) {
      const name = me.name;
      expect(me.balance, name).toEqual({ mode: "symmetric", moved: 0, received: 0, failed: 0 });
      expect(me.demand, `${name}'s demand`).toBeGreaterThan(1); // its two jobs are counted ...
      expect(me.demand, `${name}'s demand`).toBeLessThanOrEqual(2 * 1.25); // ... and it is not overloaded
    }
    expect(three.events, three.log()).toEqual([]);
    const dry = await three.cli(["balance", "--dry-run"]);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/^nothing would move \(.+\)\n$/);
    const json = await three.cli(["balance", "--dry-run", "--json"]);
    expect(json.code, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual([]);
    await Promise.all(pids.map((pid) => three.c.client.kill(pid)));
    await running(three, pids, 0);
  });

  it("six jobs started on A are spread two per node within 40 s; none lost, every output equal to an unmoved run's", async () => {
    const from = three.events.length;
    const jobs = await Promise.all(Array.from({ length: 6 }, () => three.run(JOB, JOB_ARGS, "A")));
    const pids = jobs.map((j) => j.pid);
    const spread = await eventually(
      async () => {
        await sleep(300);
        const mine = of(await three.c.ps(), pids);
        const ended = mine.filter((p) => p?.state !== "running");
        if (ended.length) throw new Error(`jobs ended before the six were spread: ${JSON.stringify(ended)}\n${three.log()}`);
        const per = ["A", "B", "C"].map((n) => mine.filter((p) => p!.node === n).length);
        return per.every((k) => k === 2) ? mine : undefined;
      },
      40_000,
      "the six jobs spread two per node",
    );
    expect(spread.length).toBe(6);
    const ends = await Promise.all(jobs.map((j) => j.ended));
    const ref = await jobReference;
    expect(ref.length).toBe(Number(JOB_ARGS[0]) + 1);
    for (const [i, j] of jobs.entries()) {
      expect(ends[i], j.pid).toEqual(CLEAN);
      expect(j.lines, `${j.pid}: its output against an unmoved run's`).toEqual(ref);
    }
    const final = of(await three.ps(), pids);
    for (const p of final) expect(p).toMatchObject({ state: "exited", code: 0 });
    // every move was the balancer's, logged on both nodes with its reason, and counted on both
    const events = three.events.slice(from);
    const moving = events.filter((e) => e.kind === "moving");
    const failed = events.filter((e) => e.kind === "failed");
    const completed = moving.length - failed.length;
    expect(completed, three.log()).toBeGreaterThanOrEqual(4);
    expect(
      final.reduce((s, p) => s + p!.migrations, 0),
      three.log(),
    ).toBe(completed);
    for (const m of moving) {
      expect(m.why, m.line).toMatch(REASON);
      if (failed.some((f) => f.pid === m.pid && f.node === m.node && f.peer === m.peer && f.at >= m.at)) continue;
      const arrived = events.find((e) => e.kind === "arrives" && e.pid === m.pid && e.node === m.peer && e.peer === m.node);
      expect(arrived, `the arrival of ${m.line}\n${three.log()}`).toBeDefined();
      expect(arrived!.why).toMatch(REASON);
    }
    for (const name of ["A", "B", "C"]) {
      const b = (await three.self(name)).balance;
      expect(b, `${name}\n${three.log()}`).toEqual({
        mode: "symmetric",
        moved: count(events, name, "moving"),
        received: count(events, name, "arrives") - failed.filter((f) => f.peer === name).length,
        failed: count(events, name, "failed"),
      });
    }
    expect(residenceViolations(events, RESIDENCE), three.log()).toEqual([]);
  });

  it("a chatty pair started on different nodes, with room on both, ends up on one node; its messages intact", async () => {
    const rounds = 40_000;
    const every = 10_000;
    const from = three.events.length;
    const one = await three.run(RING, ["1", "2", String(rounds), String(every)], "B");
    const zero = await three.run(RING, ["0", "2", String(rounds), String(every)], "A");
    const pair = [zero.pid, one.pid];
    const together = await eventually(
      async () => {
        await sleep(300);
        const [a, b] = of(await three.c.ps(), pair);
        if (a?.state !== "running" || b?.state !== "running")
          throw new Error(`the pair ended before it was on one node: ${JSON.stringify([a, b])}\n${three.log()}`);
        return a.node === b.node ? a.node : undefined;
      },
      25_000,
      "the pair on one node",
    );
    expect(["A", "B"]).toContain(together);
    expect(await Promise.all([zero.ended, one.ended])).toEqual([CLEAN, CLEAN]);
    const progress = (i: number) => Array.from({ length: rounds / every }, (_, k) => `ring-${i}: ${(k + 1) * every} tokens`);
    expect(zero.lines).toEqual([...progress(0), `ring-0: done, ${rounds} tokens in order`, `ring: ${2 * rounds} messages passed`]);
    expect(one.lines).toEqual([...progress(1), `ring-1: done, ${rounds} tokens in order`]);
    const [a, b] = of(await three.ps(), pair);
    expect(a!.node, "the pair ended on one node").toBe(b!.node);
    const moves = three.events.slice(from).filter((e) => e.kind === "moving" && pair.includes(e.pid));
    expect(moves.length, three.log()).toBeGreaterThanOrEqual(1);
    expect(moves[0].why, three.log()).toMatch(/^pair: /);
  });
});

describe("stability", () => {
  it("no process is moved by the balancer within --residence of arriving on its node", async () => {
    // A (1 cpu) with two jobs is overloaded and B has room: the balancer moves one to B, and the test
    // moves it straight back. Soon both jobs on A have just arrived there: the balancer must wait.
    const residence = 3000;
    const c = await BalanceCluster.start(["A", "B"], ["--cpus", "1", "--balance", "symmetric", "--residence", String(residence)]);
    try {
      await c.run(JOB, FOREVER, "A");
      await c.run(JOB, FOREVER, "A");
      const back: Arrival[] = [];
      const end = performance.now() + 14_000;
      let next = 0;
      for (let i = 0; i < 20 && performance.now() < end; i++) {
        const arrived = await c
          .when((e) => e.kind === "arrives" && e.node === "B", Math.max(1, end - performance.now()), next)
          .catch(() => null);
        if (!arrived) break;
        next = c.events.indexOf(arrived) + 1;
        // the destination logs a process on its way: it is there once the pre-copy is over
        const there = async () => ((await c.c.ps()).find((p) => p.pid === arrived.pid && p.node === "B") ? true : undefined);
        if (!(await eventually(there, 10_000, `${arrived.pid} on B`).catch(() => false))) continue;
        for (let tries = 0; tries < 5; tries++) {
          const at = performance.now();
          const m = await c.c.migrate(arrived.pid, "A", "precopy", "B");
          if (m.result === "completed") {
            back.push({ pid: arrived.pid, node: "A", at });
            break;
          }
          await sleep(200);
        }
      }
      const moves = c.events.filter((e) => e.kind === "moving");
      expect(moves.length, c.log()).toBeGreaterThanOrEqual(3);
      const most = Math.max(...moves.map((m) => moves.filter((x) => x.pid === m.pid).length));
      expect(most, `a process the balancer moved twice\n${c.log()}`).toBeGreaterThanOrEqual(2);
      expect(residenceViolations(c.events, residence, back), c.log()).toEqual([]);
    } finally {
      c.stop();
    }
  });
});

describe("failure", () => {
  it("the destination is killed during a balancer move: the process stays where it was, runs on, output intact", async () => {
    // Two guests of many MiB, dirtying them fast, on A (1 cpu); T (the only other node) has room. The moment
    // A says it is moving one to T, T is killed: a pre-copy of that much memory cannot be over by then. Each guest
    // runs several seconds, so that it is still running once the move has failed (64 MiB and 800 rounds took 1.4 s
    // alone on a fast machine, and the guest had ended by the time ps was asked).
    const outcomes: string[] = [];
    for (const [mib, rounds] of [
      [64, 2400],
      [192, 900],
    ]) {
      const args = [String(mib), String(rounds)];
      const refRun = reference(BYTES, args);
      refRun.catch(() => undefined);
      const c = await BalanceCluster.start(["A", "T"], ["--cpus", "1", "--balance", "symmetric", "--residence", "1000"]);
      try {
        const T = c.node("T");
        const killing = c.when(
          (e) => e.kind === "moving" && e.node === "A",
          20_000,
          0,
          () => T.child.kill("SIGKILL"),
        );
        killing.catch(() => undefined); // awaited below, once the guests run
        const jobs = [await c.run(BYTES, args, "A"), await c.run(BYTES, args, "A")];
        const move = await killing;
        expect(move.peer).toBe("T");
        const outcome = await eventually(
          async () => {
            if (c.events.some((e) => e.kind === "failed" && e.node === "A" && e.pid === move.pid)) return "failed";
            const p = (await c.c.ps()).find((x) => x.pid === move.pid);
            if (p && p.node !== "A") return `completed (${p.pid} ${p.state} on ${p.node})`;
            if (p && p.state !== "running") return `not seen to end: ${p.pid} ended first (${p.state} on A)`;
            await sleep(200);
            return undefined;
          },
          20_000,
          "the end of the balancer's move to the killed node",
        );
        if (outcome !== "failed") {
          outcomes.push(`${mib} MiB: the move ${outcome}`);
          continue;
        }
        const info = (await c.ps("A")).find((p) => p.pid === move.pid);
        expect(info, c.log()).toMatchObject({ node: "A", state: "running", migrations: 0 });
        expect(await Promise.all(jobs.map((j) => j.ended))).toEqual([CLEAN, CLEAN]);
        const ref = await refRun;
        for (const j of jobs) expect(j.lines, `${j.pid}: its output against an unmoved run's`).toEqual(ref);
        const a = (await c.self("A")).balance;
        expect(a.failed, c.log()).toBeGreaterThanOrEqual(1);
        expect(a.moved, "moves started, the failed ones among them").toBeGreaterThanOrEqual(a.failed);
        return;
      } finally {
        c.stop();
      }
    }
    throw new Error(`no move was caught by its destination's death: ${outcomes.join("; ")}`);
  });
});

/** Starts node X with `args` joining `c` and expects it refused with a message matching each of `says`. */
async function refusedJoin(c: BalanceCluster, args: string[], says: RegExp[]): Promise<void> {
  const r = await migrant(["node", "--name", "X", "--port", "0", ...HEARTBEAT, ...args, "--join", c.node("A").url], {}, 15_000);
  expect(r.code, r.stdout + r.stderr).toBe(2);
  for (const re of says) expect(r.stderr).toMatch(re);
  expect((await c.nodes()).map((n) => n.name).sort()).toEqual(["A", "B"]);
}

describe("modes", () => {
  it("off (the default) moves nothing while a node is overloaded; a node joining with another mode is refused", async () => {
    const c = await BalanceCluster.start(["A", "B"], ["--cpus", "1"]);
    try {
      const jobs = [];
      for (let i = 0; i < 3; i++) jobs.push(await c.run(JOB, FOREVER, "A"));
      await sleep(6000);
      const a = await c.self("A");
      expect(a.balance).toEqual({ mode: "off", moved: 0, received: 0, failed: 0 });
      expect(a.demand, "A is overloaded").toBeGreaterThan(1 * 1.25);
      expect((await c.self("B")).balance).toEqual({ mode: "off", moved: 0, received: 0, failed: 0 });
      for (const p of of(
        await c.ps(),
        jobs.map((j) => j.pid),
      ))
        expect(p).toMatchObject({ node: "A", state: "running", migrations: 0 });
      expect(c.events, c.log()).toEqual([]);
      // the dry run says what a symmetric balancer would do, and that this one is off
      const dry = await c.cli(["balance", "--dry-run"]);
      expect(dry.code, dry.stderr).toBe(0);
      expect(dry.stderr).toMatch(/off/);
      expect(dry.stdout).toMatch(/^A\.\d+: A -> B \((sender|receiver): .+\)$/m);
      const plan = JSON.parse((await c.cli(["balance", "--dry-run", "--json"])).stdout) as Array<Record<string, string>>;
      expect(plan.length).toBeGreaterThanOrEqual(1);
      for (const m of plan) expect(jobs.map((j) => j.pid)).toContain(m.pid);
      expect(plan[0]).toMatchObject({ from: "A", to: "B" });
      await sleep(500);
      expect(c.events, "a dry run moves nothing").toEqual([]);
      await refusedJoin(c, ["--balance", "sender"], [/balanc/i, /--balance off/]);
    } finally {
      c.stop();
    }
  });

  it.each(["sender", "receiver"] as const)(
    "%s moves a job off an overloaded node, saying so on both nodes with its reason",
    async (mode) => {
      const c = await BalanceCluster.start(["A", "B"], ["--cpus", "1", "--balance", mode, "--residence", "1000"]);
      try {
        await c.run(JOB, FOREVER, "A");
        await c.run(JOB, FOREVER, "A");
        const arrived = await c.when((e) => e.kind === "arrives", 20_000);
        // the destination says so when it takes the process on, the source when it starts the move
        const sent = await c.when((e) => e.kind === "moving" && e.pid === arrived.pid, 10_000);
        expect(sent, c.log()).toMatchObject({ node: "A", peer: "B" });
        expect(arrived).toMatchObject({ node: "B", peer: "A" });
        const why = new RegExp(`^${mode}: `);
        for (const e of c.events) expect(e.why, e.line).toMatch(e.kind === "failed" ? /./ : why);
        await eventually(async () => ((await c.c.ps()).find((p) => p.pid === arrived.pid && p.node === "B") ? true : undefined));
        expect((await c.ps()).find((p) => p.pid === arrived.pid)).toMatchObject({ node: "B", state: "running", migrations: 1 });
        const a = (await c.self("A")).balance;
        expect(a.mode).toBe(mode);
        expect(a.moved, c.log()).toBeGreaterThanOrEqual(1);
        // B counts it once A has told it how the move ended
        const b = await eventually(async () => {
          const x = (await c.self("B")).balance;
          return x.received >= 1 ? x : undefined;
        });
        expect(b.mode).toBe(mode);
        await refusedJoin(c, ["--balance", mode, "--balance-threshold", "0.5"], [/threshold/i, /--balance-threshold 0\.25/]);
      } finally {
        c.stop();
      }
    },
  );
});
