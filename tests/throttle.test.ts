// Pre-copy's auto-converge (migration/source/throttle.ts): the pause a
// THROTTLE interrupt asks for, the metronome that asks for it on time, and a
// write-heavy guest's pre-copy between two real nodes, which converges only
// because its guest is slowed, and ends like an unmigrated run.

import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Image } from "../host/image.js";
import { GuestProcess } from "../host/process.js";
import { readClock } from "../host/worker/guest-clock.js";
import { Beat } from "../host/migration/source/metronome.js";
import type { MigrationStats } from "../host/migration/options.js";
import { WORKLOADS, guestBytes, guestImage, runToEnd } from "./guests.js";
import { background, eventually, migrant, startPair, type RunningNode } from "./processes.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const kvstore = WORKLOADS.find((w) => w.name === "kvstore")!;
let image: Image;

/** A kvstore that runs for ever (until killed), once it has printed its first tick. */
async function endless(): Promise<GuestProcess> {
  let ticked!: () => void;
  const first = new Promise<void>((r) => (ticked = r));
  const p = GuestProcess.start(image, { pid: "A.1", node: "A", args: ["4", "2000000000"], onOutput: () => ticked() });
  await first;
  return p;
}

const throttledMs = (p: GuestProcess) => readClock(p.memory).throttledUs / 1000;

beforeAll(async () => {
  image = await guestImage(kvstore);
});

describe("the throttle's pause", () => {
  it("a THROTTLE interrupt pauses the guest at its next safepoint for as long as it says, counted on its clock", async () => {
    const p = await endless();
    await sleep(100);
    expect(throttledMs(p)).toBe(0);
    p.throttle(150_000);
    await eventually(async () => (throttledMs(p) > 0 ? true : undefined), 2000, "the pause to end");
    expect(throttledMs(p)).toBeGreaterThanOrEqual(149);
    expect(throttledMs(p)).toBeLessThan(400);
    await p.kill();
  });

  it("a freeze ends a pause at once", async () => {
    const p = await endless();
    await sleep(50);
    p.throttle(20_000_000); // 20 s
    await sleep(100);
    const t0 = performance.now();
    expect(await p.freeze()).not.toBeNull();
    expect(performance.now() - t0).toBeLessThan(5000);
    expect(throttledMs(p)).toBeLessThan(5000);
    await p.kill();
  });

  it("the metronome holds a guest about its share of each period, and stops when cleared", async () => {
    const p = await endless();
    const beat = new Beat(p.memory);
    const t0 = performance.now();
    beat.set(0.5, 10);
    await sleep(600);
    beat.clear();
    const share = throttledMs(p) / (performance.now() - t0);
    expect(share).toBeGreaterThan(0.25);
    expect(share).toBeLessThan(0.75);
    await sleep(50); // a pause asked for just before the clear ends
    const after = throttledMs(p);
    await sleep(300);
    expect(throttledMs(p)).toBe(after);
    await p.kill();
  });
});

describe("auto-converge between two nodes", () => {
  let A: RunningNode, stop: () => void;
  const at = (n: RunningNode) => ({ MIGRANT_NODE: n.url });
  beforeAll(async () => ({ A, stop } = await startPair()));
  afterAll(() => stop?.());

  async function migrate(pid: string, to: string, extra: string[] = []): Promise<MigrationStats> {
    const r = await migrant(["migrate", pid, "--to", to, "--strategy", "precopy", "--json", ...extra], at(A));
    expect(r.stdout, r.stderr).not.toBe("");
    return JSON.parse(r.stdout);
  }

  it("a kvstore's pre-copy is throttled until it converges, and ends like an unmigrated run; --no-throttle never slows it", async () => {
    const args = ["4", "100000000"];
    const reference = await runToEnd(image, args);
    const done = reference.lines.filter((l) => l.startsWith("done "));
    expect(done).toHaveLength(1);
    const wasm = join(mkdtempSync(join(tmpdir(), "migrant-throttle-")), "kvstore.wasm");
    writeFileSync(wasm, await guestBytes(kvstore));
    const run = await migrant(["run", wasm, ...args, "-d"], at(A));
    const pid = run.stdout.trim();
    expect(pid, run.stderr).toMatch(/^A\.\d+$/);
    const follower = background(["attach", pid], at(A));
    await follower.firstLine;
    const there = await migrate(pid, "B");
    expect(there.result, there.error ?? "").toBe("completed");
    expect(there.throttlePct).toBeGreaterThan(0);
    expect(there.throttledMs).toBeGreaterThan(0);
    const back = await migrate(pid, "A", ["--no-throttle"]);
    expect(back.result, back.error ?? "").toBe("completed");
    expect(back.throttlePct).toBe(0);
    expect(back.throttledMs).toBe(0);
    const out = await follower.done;
    expect(out.stdout.split("\n").filter((l) => l.startsWith("done "))).toEqual(done);
  });
});
