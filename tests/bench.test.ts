// The benchmark measures what it says: progress lost, gaps and rates come out
// right from tick lines of a known shape, and `migrant bench` itself runs two
// real nodes, migrates a real workload and writes its results and report.

import { mkdtempSync, readFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseTick, progressAround, workIn, type Tick } from "../bench/suite.js";
import type { BenchResult } from "../bench/result.js";
import { LineCheck, type SoakResult } from "../bench/soak.js";
import type { BalanceResult } from "../bench/balance.js";
import { migrant } from "./processes.js";

/** A workload doing `rate` work/s, ticking every 100 ms, that stood still during [stopAt, stopAt + stopMs). */
function ticks(rate: number, untilMs: number, stopAt: number, stopMs: number): Tick[] {
  const out: Tick[] = [];
  let last = 0;
  for (let t = 0; t <= untilMs; t += 100) {
    // work done in (last, t] = rate x (time running in it)
    const running = t - last - Math.max(0, Math.min(t, stopAt + stopMs) - Math.max(last, stopAt));
    out.push({ t, work: Math.round((rate * running) / 1000), gapMs: running < t - last ? stopMs : 1 });
    last = t;
  }
  return out;
}

describe("progress around a migration", () => {
  it("spreads each tick's work over its interval", () => {
    const k = ticks(1000, 1000, 2000, 0); // steady: 100 per 100 ms
    expect(workIn(k, 0, 1000)).toBeCloseTo(1000);
    expect(workIn(k, 250, 350)).toBeCloseTo(100);
    expect(workIn(k, 50, 60)).toBeCloseTo(10);
  });

  it("finds the progress lost to a 200 ms stop, and the dip in the rate", () => {
    const k = ticks(1000, 4000, 2000, 200);
    const p = progressAround(k, 2000, 2200, 1000);
    expect(p.baselineRate).toBeCloseTo(1000);
    expect(p.lostMs).toBeCloseTo(200, 0);
    // buckets from -1000 ms: the two covering the stop are at 0
    expect(p.progress.slice(8, 14)).toEqual([1, 1, 0, 0, 1, 1]);
    expect(p.longestGapMs).toBe(200);
    expect(p.baselineGapMs).toBe(1);
  });

  it("takes the steady rate from both sides: a drifting rate is not taken for progress lost, and its drift is the noise", () => {
    // the rate grows from 1000/s to 2000/s over 8 s, and nothing stops
    const rateAt = (t: number) => 1000 + t / 8;
    const k: Tick[] = [{ t: 0, work: 0, gapMs: 1 }];
    for (let t = 100; t <= 8000; t += 100) k.push({ t, work: Math.round((rateAt(t - 50) * 100) / 1000), gapMs: 1 });
    const oneSide = progressAround(k, 3000, 3400, 1000, 2000); // the ticks end before the window after
    const cut = progressAround(
      k.filter((x) => x.t <= 5000),
      3000,
      3400,
      1000,
      2000,
    );
    expect(cut.lostMs).toBeLessThan(-100); // one window before: the faster rate since looks like work gained
    expect(cut.lostNoiseMs).toBe(0);
    expect(oneSide.lostMs).toBeCloseTo(0, 0);
    expect(oneSide.lostNoiseMs).toBeGreaterThan(Math.abs(cut.lostMs) / 4);
    // a 200 ms stop in the same drift is found at its length, in ms of the steady rate (the rate then is a little below it)
    const stopped = k.map((x) => (x.t > 3100 && x.t <= 3300 ? { ...x, work: 0, gapMs: 200 } : x));
    const lost = progressAround(stopped, 3000, 3400, 1000, 2000).lostMs;
    expect(lost).toBeGreaterThan(180);
    expect(lost).toBeLessThan(205);
  });

  it("loses nothing when nothing stopped", () => {
    const k = ticks(1000, 4000, 9000, 0);
    expect(progressAround(k, 2000, 2300, 1000).lostMs).toBeCloseTo(0, 5);
  });

  it("reads the workloads' tick lines and nothing else", () => {
    expect(parseTick("tick 1024 3 1795510900112.0")).toEqual({ work: 1024, gapMs: 3, t: 1795510900112 });
    expect(parseTick("done 1 abc")).toBeNull();
    expect(parseTick("tick 1 0")).toBeNull();
  });
});

describe("the soak's line check", () => {
  it("counts lines lost and repeated from the guest's numbers, and keeps what is not a numbered line", () => {
    const c = new LineCheck();
    for (const n of [1, 2, 3, 3, 4, 7, 8, 2, 9]) c.take(`line ${n} A`);
    c.take("corrupt at line 10: block 10 holds 0, not 4294967295");
    expect([c.received, c.last, c.lost, c.repeated]).toEqual([9, 9, 2, 2]);
    expect(c.other).toEqual(["corrupt at line 10: block 10 holds 0, not 4294967295"]);
  });
});

describe("migrant bench", () => {
  it("refuses unknown workloads, strategies and sizes it cannot run", async () => {
    for (const [args, msg] of [
      [["--workloads", "kvstore,nope"], /--workloads: nope \(choose from kvstore/],
      [["--strategies", "teleport"], /--strategies: teleport/],
      [["--sizes", "2048"], /--sizes: .* from 1 to 1000/],
      [["--sizes", "abc"], /--sizes/],
      [["--reps", "0"], /--reps/],
      [["--soak", "0"], /--soak: "0" is not a whole number of at least 1/],
      [["--soak", "5", "--link"], /--soak runs on its own, on loopback/],
      [["--soak", "5", "--compress"], /--soak runs on its own, on loopback: leave out --link, --compress/],
      [["--soak", "5", "--sizes", "2,4"], /--sizes: with --soak, one size/],
      [["--balance", "sender,nope"], /--balance: nope \(choose from off, sender, receiver, symmetric\)/],
      [["--balance", "--soak", "5"], /--balance runs on its own, on loopback/],
    ] as const) {
      const r = await migrant(["bench", ...args]);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(msg);
      expect(r.stderr).not.toMatch(/at .*\.js:\d+/); // no stack trace
    }
  });

  it("migrates a real workload between two real nodes and writes the figures and the report", async () => {
    const out = mkdtempSync(join(tmpdir(), "migrant-bench-test-"));
    const r = await migrant(
      [
        "bench",
        "--quick",
        "--workloads",
        "idle",
        "--strategies",
        "freeze,postcopy",
        "--sizes",
        "2",
        "--reps",
        "1",
        "--no-overhead",
        "--forwarding",
        "traversal",
        "--out",
        out,
      ],
      {},
      120_000,
    );
    expect(r.code, r.stderr).toBe(0);
    const json = readdirSync(out).find((f) => f.endsWith(".json"))!;
    const result = JSON.parse(readFileSync(join(out, json), "utf8")) as BenchResult;
    expect(result.suite.runs.map((x) => [x.workload, x.sizeMiB, x.strategy, x.stats.result])).toEqual([
      ["idle", 2, "freeze", "completed"],
      ["idle", 2, "postcopy", "completed"],
    ]);
    for (const run of result.suite.runs) {
      expect(run.memoryBytes).toBeGreaterThanOrEqual(2 * 1024 * 1024);
      expect(run.baselineRate).toBeGreaterThan(0); // it saw the workload tick before migrating it
      expect(run.stats.downtimeMs).toBeGreaterThan(0);
    }
    expect(result.floor.rttP50Us).toBeGreaterThan(0);
    expect(result.floor.memcpyMBps).toBeGreaterThan(0);
    const html = readFileSync(join(out, json.replace(".json", ".html")), "utf8");
    expect(html).toContain("<svg");
    expect(html).toContain("Targets");
    expect(readFileSync(join(out, "latest.md"), "utf8")).toMatch(/\| idle \| 2 \| postcopy \| 1 \|/);
    expect(r.stdout).toMatch(/idle\s+2\s+freeze\s+1/);
    // the messaging benchmark, for the one mechanism asked
    const m = result.messaging!.rows;
    expect(m.map((x) => x.mode)).toEqual(["traversal"]);
    expect(m[0].samples).toBe(10);
    expect(m[0].afterMoveHops).toBe(1); // the old node passes each first message on: one extra hop
    expect(m[0].steadyHops).toBe(0); // then the chain is shortened: straight there
    expect(m[0].ringMsgsPerSec).toBeGreaterThan(0);
    expect(m[0].ringMigrations).toBeGreaterThan(0);
    expect(html).toContain("the four forwarding mechanisms");
    expect(readFileSync(join(out, "latest-messaging.md"), "utf8")).toMatch(/^\| forwarding \|[^\n]*\n\| --- [^\n]*\n\| traversal \|/);
    expect(r.stdout).toMatch(/Messages between processes/);
  }, 180_000);

  it("--link runs the nodes over a rate-capped veth between two namespaces, or says why not and runs on loopback; --compress runs each strategy without and with it", async () => {
    const out = mkdtempSync(join(tmpdir(), "migrant-bench-link-"));
    const r = await migrant(
      [
        "bench",
        "--link",
        "1gbit",
        "--compress",
        "--workloads",
        "idle",
        "--strategies",
        "freeze",
        "--sizes",
        "2",
        "--reps",
        "1",
        "--no-overhead",
        "--no-messaging",
        "--out",
        out,
      ],
      {},
      120_000,
    );
    expect(r.code, r.stderr).toBe(0);
    const json = readdirSync(out).find((f) => f.endsWith(".json"))!;
    const result = JSON.parse(readFileSync(join(out, json), "utf8")) as BenchResult;
    expect(result.suite.runs.map((x) => [x.compress, x.stats.result])).toEqual([
      [false, "completed"],
      [true, "completed"],
    ]);
    const [plain, packed] = result.suite.runs.map((x) => x.stats);
    expect(plain.bytesSent).toBe(plain.rawBytes);
    expect(packed.bytesSent).toBeLessThan(packed.rawBytes / 4); // idle's buffer: one byte in 64 written
    expect(r.stdout).toMatch(/Compression \(--compress\)[^\n]*\n.*ratio[^\n]*\nidle\s+2\s+freeze\s+\d+\.\d+x/);
    expect(result.messaging).toBeNull();
    if (result.link && "rate" in result.link) {
      expect(r.stderr).toMatch(
        /nodes: A at ws:\/\/10\.77\.0\.1:\d+, B at ws:\/\/10\.77\.0\.2:\d+ \(namespaces migrant-a\/migrant-b, tbf 1gbit\)/,
      );
      // the cap holds: a 1 Gbit/s link carries at most 125 MB/s
      expect(result.floor.upMBps).toBeLessThan(130);
    } else {
      expect(result.link).toHaveProperty("refused");
      expect(r.stderr).toMatch(/not permitted here .*; running on loopback/);
    }
  }, 180_000);

  it("--soak migrates one guest again and again among three real nodes and checks every line it prints", async () => {
    const out = mkdtempSync(join(tmpdir(), "migrant-bench-soak-"));
    const r = await migrant(["bench", "--soak", "6", "--sizes", "2", "--out", out], {}, 120_000);
    expect(r.code, r.stderr).toBe(0);
    const json = readdirSync(out).find((f) => f.endsWith("-soak.json"))!;
    const result = JSON.parse(readFileSync(join(out, json), "utf8")) as SoakResult;
    expect([result.done, result.completed, result.failed, result.stopped]).toEqual([6, 6, 0, null]);
    // each strategy in turn: freeze, precopy, postcopy, hybrid, freeze, precopy
    expect(result.byStrategy.map((x) => [x.strategy, x.completed])).toEqual([
      ["freeze", 2],
      ["precopy", 2],
      ["postcopy", 1],
      ["hybrid", 1],
    ]);
    expect(result.lines.received).toBeGreaterThan(20); // it printed throughout, and the client followed it
    expect([result.lines.lost, result.lines.repeated, result.lines.other]).toEqual([0, 0, []]);
    expect(result.lines.last).toBe(result.lines.received);
    // the widest pause between two lines around a move is at least the guest's own period between them
    expect(result.serviceGapMs.p50).toBeGreaterThanOrEqual(result.lineMs);
    expect(result.memory.map((m) => m.node)).toEqual(["A", "B", "C"]);
    for (const m of result.memory) expect(m.beforeMiB).toBeGreaterThan(10); // read from /proc
    expect(result.downtimeMs.p50).toBeGreaterThan(0);
    expect(r.stderr).toMatch(/soak: 3\/6 migrations \(3 completed, 0 failed\), \d+ lines, 0 lost, 0 repeated/);
    expect(r.stdout).toMatch(/\[met\] no output line lost or repeated/);
    expect(readFileSync(join(out, "latest-soak.md"), "utf8")).toMatch(
      /\| migrations \| completed \| failed \|[^\n]*\n\| --- [^\n]*\n\| 6 \| 6 \| 0 \|/,
    );
  }, 120_000);

  it("--balance runs a batch of CPU-bound jobs from one node of three per balancer mode, and checks every job's output", async () => {
    const out = mkdtempSync(join(tmpdir(), "migrant-bench-balance-"));
    const r = await migrant(["bench", "--balance", "off,symmetric", "--quick", "--out", out], {}, 170_000);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    const json = readdirSync(out).find((f) => f.endsWith("-balance.json"))!;
    const result = JSON.parse(readFileSync(join(out, json), "utf8")) as BalanceResult;
    expect(result.runs.map((x) => x.mode)).toEqual(["off", "symmetric"]);
    expect(result.nodes).toEqual(["A", "B", "C"]);
    for (const run of result.runs) {
      expect(run.failures).toEqual([]);
      expect(run.jobs.length).toBe(result.jobs.length);
      for (const j of run.jobs) {
        expect(j.pid).toMatch(/^A\.\d+$/); // all started on A
        expect([j.code, j.intact]).toEqual([0, true]); // ended, with an unmoved run's output
      }
      expect(run.makespanMs).toBeGreaterThan(0);
      expect(run.meanCompletionMs).toBeLessThanOrEqual(run.makespanMs);
      expect(run.migrations).toBe(run.jobs.reduce((a, j) => a + j.migrations, 0));
      // the timeline: every job on A at first, none running at the end
      expect(run.timeline[0].on.every((n) => n === "A")).toBe(true);
      expect(run.timeline[run.timeline.length - 1].on.every((n) => n === null)).toBe(true);
      expect(Object.values(run.balance).map((b) => b?.mode)).toEqual([run.mode, run.mode, run.mode]);
    }
    // with the balancer off nothing moves, and the jobs never leave A
    expect(result.runs[0].migrations).toBe(0);
    expect(result.runs[0].timeline.every((p) => p.on.every((n) => n === "A" || n === null))).toBe(true);
    expect(readFileSync(join(out, json.replace(".json", ".html")), "utf8")).toMatch(/jobs running on each node[\s\S]*<svg/i);
    expect(readFileSync(join(out, "latest-balance.md"), "utf8")).toMatch(/\| mode \| jobs \|[^\n]*\n\| --- [^\n]*\n\| off \| 4 \|/);
    expect(r.stdout).toMatch(/Every job ended, with the output of an unmoved run/);
  }, 180_000);
});
