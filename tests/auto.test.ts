// `--strategy auto` (migration/source/auto.ts): the choice as a pure function
// of the guest's memory, its dirty rate and the link rate, and between two
// real nodes, where it says what it chose and why, and the process ends like
// an unmigrated run.

import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { choose, FREEZE_UP_TO_MS, type Figures } from "../host/migration/source/auto.js";
import type { AutoChoice, MigrationStats } from "../host/migration/options.js";
import { EXAMPLE_GUESTS, WORKLOADS, guestBytes, guestImage, runToEnd, type Guest } from "./guests.js";
import { background, migrant, startPair, type RunningNode } from "./processes.js";

const MB = 1e6;
const figures = (f: Partial<Figures>): Figures => ({ memoryBytes: 64 * MB, dirtyMBps: null, linkMBps: 500, maxDowntimeMs: 2, ...f });
const chosen = (f: Partial<Figures>) => choose(figures(f)) as AutoChoice;

describe("auto's choice", () => {
  it("freezes a guest whose memory goes within a few milliseconds, without measuring it", () => {
    const c = chosen({ memoryBytes: ((FREEZE_UP_TO_MS * 500) / 1000) * MB * 0.9 });
    expect(c.chose).toBe("freeze");
    expect(c.reason).toMatch(/a total freeze is shortest/);
    expect(c.predictedDowntimeMs).toBeLessThanOrEqual(FREEZE_UP_TO_MS + 3);
  });

  it("measures the dirty rate first when the memory is larger", () => {
    expect(choose(figures({ memoryBytes: 64 * MB }))).toBe("measure");
  });

  it("pre-copies a guest that dirties little: the rounds shrink by themselves", () => {
    const c = chosen({ dirtyMBps: 5 });
    expect(c.chose).toBe("precopy");
    expect(c.reason).toMatch(/the rounds shrink by themselves/);
  });

  it("does not pre-copy a guest that dirties faster than the link: it says what it chose over, and predicts less loss on a faster link", () => {
    const slow = chosen({ dirtyMBps: 5000, linkMBps: 300 });
    expect(slow.chose).not.toBe("precopy");
    expect(slow.reason).toMatch(/dirties 5000 MB\/s against a 300 MB\/s link: .* ms lost; \w+ [\d.]+ ms\)/);
    const fast = chosen({ dirtyMBps: 5000, linkMBps: 3000 });
    expect(fast.predictedLostMs).toBeLessThan(slow.predictedLostMs);
  });
});

describe("auto between two nodes", () => {
  let A: RunningNode, stop: () => void;
  const dir = mkdtempSync(join(tmpdir(), "migrant-auto-"));
  const at = (n: RunningNode) => ({ MIGRANT_NODE: n.url });
  beforeAll(async () => ({ A, stop } = await startPair()));
  afterAll(() => stop?.());

  /** Moves a guest with auto mid-run; `key` picks the lines that must equal an unmigrated run's. */
  async function autoMove(g: Guest, args: string[], key: (lines: string[]) => string[]) {
    const reference = await runToEnd(await guestImage(g), args);
    const wasm = join(dir, `${g.name}.wasm`);
    writeFileSync(wasm, await guestBytes(g));
    const pid = (await migrant(["run", wasm, ...args, "-d"], at(A))).stdout.trim();
    const follower = background(["attach", pid], at(A));
    await follower.firstLine;
    const r = await migrant(["migrate", pid, "--to", "B", "--strategy", "auto", "--json"], at(A));
    expect(r.stdout, r.stderr).not.toBe("");
    const stats = JSON.parse(r.stdout) as MigrationStats;
    const end = await follower.done;
    const got = key(end.stdout.split("\n").filter((l) => l !== ""));
    expect(got.length).toBeGreaterThan(0);
    expect(got).toEqual(key(reference.lines));
    return stats;
  }

  it("chooses for a kvstore after measuring it, says why, runs what it chose, and the process ends like an unmigrated run", async () => {
    const done = (lines: string[]) => lines.filter((l) => l.startsWith("done "));
    const stats = await autoMove(
      WORKLOADS.find((w) => w.name === "kvstore")!,
      ["8", "60000000"],
      done,
    );
    expect(stats.result, stats.error ?? "").toBe("completed");
    expect(stats.auto).not.toBeNull();
    expect(stats.auto!.dirtyMBps).not.toBeNull();
    expect(stats.strategy).toBe(stats.auto!.chose);
    expect(stats.auto!.reason).toMatch(/MB\/s against a [\d.]+ MB\/s link/);
  });

  it("freezes a counter (a few pages) without switching it to tracking", async () => {
    // its lines name the node it printed on: compare them without it
    const unnamed = (lines: string[]) => lines.map((l) => l.replace(/ on [A-Z]$/, ""));
    const stats = await autoMove(
      EXAMPLE_GUESTS.find((g) => g.name === "counter")!,
      ["30"], // 3 s: a CLI's start on a busy machine does not outlast it
      unnamed,
    );
    expect(stats.result, stats.error ?? "").toBe("completed");
    expect(stats.strategy).toBe("freeze");
    expect(stats.auto!.dirtyMBps).toBeNull();
    expect(stats.switchPauseMs).toBe(0);
  });
});
