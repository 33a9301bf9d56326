// Freezing and restoring: a guest frozen at any moment, written to the snapshot
// encoding, and restored into a fresh worker on a fresh memory, runs on to the
// same output and exit code as a run that was never interrupted.

import { beforeAll, describe, expect, it } from "vitest";
import type { Image } from "../host/image.js";
import { GuestProcess } from "../host/process.js";
import { EXAMPLE_GUESTS, FLOATS, guestImage, runToEnd, runWithFreezes, type Guest, type Run } from "./guests.js";
import { random } from "./seed.js";
import { LocalMail } from "../host/messaging/local-mail.js";

const TRIALS = 20;
const AT_ONCE = 4;

async function inBatches<T>(n: number, size: number, f: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < n; i += size) {
    out.push(...(await Promise.all(Array.from({ length: Math.min(size, n - i) }, (_, j) => f(i + j)))));
  }
  return out;
}

describe.each(EXAMPLE_GUESTS)("$name", (g: Guest) => {
  let image: Image;
  let reference: Run;
  let runtimeMs: number;
  beforeAll(async () => {
    image = await guestImage(g);
    const t0 = performance.now();
    reference = await runToEnd(image, g.args);
    runtimeMs = performance.now() - t0;
    expect(reference.status.error).toBeNull();
  });

  it(`frozen at ${TRIALS} random moments and restored, ends like an uninterrupted run`, async () => {
    const runs = await inBatches(TRIALS, AT_ONCE, () => runWithFreezes(image, g.args, [random() * runtimeMs * 1.2]));
    for (const r of runs) {
      expect(r.lines).toEqual(reference.lines);
      expect(r.status).toEqual(reference.status);
    }
    // most freezes must have caught the guest mid-run, not after its end
    expect(runs.filter((r) => r.freezes === 1).length).toBeGreaterThanOrEqual(TRIALS / 2);
  });

  it("resumes in any module variant (plain -> track -> postcopy -> plain)", async () => {
    const step = runtimeMs / 5;
    const r = await runWithFreezes(image, g.args, [step, step, step], ["track", "postcopy", "plain"]);
    expect(r.lines).toEqual(reference.lines);
    expect(r.status).toEqual(reference.status);
  });

  it("restored with every page absent, fetches them on fault and ends the same", async () => {
    const lines: string[] = [];
    const onOutput = (l: string) => lines.push(l);
    const post = new LocalMail("A.1");
    const p = GuestProcess.start(image, { pid: "A.1", node: "A", args: g.args, onOutput, onMail: post.onMail });
    post.attach(p);
    await new Promise((r) => setTimeout(r, runtimeMs / 3));
    const state = await p.freeze();
    if (!state) return expect(lines).toEqual(reference.lines); // ended first: nothing to fetch
    post.mail.reconcile(state.mail);
    const snap = p.capture([], post.mail.state());
    await p.release();
    const after = new LocalMail("A.1", snap.mail);
    const where = new Map<number, number>();
    snap.pages.indices.forEach((page, i) => where.set(page, i));
    const faults: number[] = [];
    const size = image.layout.pageSize;
    const q = GuestProcess.restore(image, snap, {
      pid: "A.1",
      node: "A",
      args: g.args,
      variant: "postcopy",
      absentPages: snap.pages.indices,
      onOutput,
      onMail: after.onMail,
      onFault: (page, proc) => {
        faults.push(page);
        const i = where.get(page);
        proc.installPage(page, i === undefined ? new Uint8Array(size) : snap.pages.data.subarray(i * size, (i + 1) * size));
      },
    });
    after.attach(q);
    const status = await q.exited;
    expect(lines).toEqual(reference.lines);
    expect(status).toEqual(reference.status);
    expect(faults.length).toBeGreaterThan(0);
    expect(new Set(faults).size).toBe(faults.length); // each page fetched once
    for (const f of faults) expect(where.has(f)).toBe(true);
  });
});

describe("repeated freezing", () => {
  it("freezes, restores, freezes again ... 10 times in a row", async () => {
    const g = EXAMPLE_GUESTS.find((x) => x.name === "indirect")!;
    const image = await guestImage(g);
    const args = ["30000000"];
    const reference = await runToEnd(image, args);
    const r = await runWithFreezes(image, args, Array(10).fill(25));
    expect(r.freezes).toBe(10);
    expect(r.lines).toEqual(reference.lines);
    expect(r.status).toEqual(reference.status);
  });

  it("freezes a sleeping guest with its remaining sleep, not a deadline", async () => {
    const g = EXAMPLE_GUESTS.find((x) => x.name === "counter")!;
    const image = await guestImage(g);
    const reference = await runToEnd(image, ["5"]);
    // Each freeze 30 ms after a line: the counter prints, then sleeps 100 ms,
    // so it is asleep then however slowly the worker started.
    const r = await runWithFreezes(image, ["5"], [30, 40, 20], [], true);
    expect(r.lines).toEqual(reference.lines);
    expect(r.freezes).toBe(3);
    for (const s of r.snapshots) {
      expect(s.state.sleepRemaining).not.toBeNull();
      expect(s.state.sleepRemaining!).toBeGreaterThan(0);
      expect(s.state.sleepRemaining!).toBeLessThanOrEqual(100);
    }
  });

  it("keeps float globals JSON cannot carry (NaN, +-Infinity, -0) across freezes through the snapshot file", async () => {
    const image = await guestImage(FLOATS);
    const reference = await runToEnd(image, ["12"]);
    expect(reference.lines[0]).toBe("0 NaN Infinity -Infinity -Infinity");
    const r = await runWithFreezes(image, ["12"], [10, 10, 10], ["track", "postcopy", "plain"], true);
    expect(r.freezes).toBe(3);
    expect(r.lines).toEqual(reference.lines);
    expect(r.status).toEqual(reference.status);
  });
});
