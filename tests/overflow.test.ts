// The Asyncify buffer is sized from the module and can be set; a stack that
// does not fit is reported as such. If the overflow stayed within the host's
// own maps the process runs on untouched; otherwise it ends with that error,
// never with silently corrupted memory.

import { describe, expect, it } from "vitest";
import { GuestProcess } from "../host/process.js";
import { AsyncifyOverflowError } from "../host/errors.js";
import { DEEP, DEEP_TINY_BUFFER, guestImage, runToEnd, runWithFreezes } from "./guests.js";

async function freezeAtBottom(depth: number, tiny: boolean) {
  const image = await guestImage(tiny ? DEEP_TINY_BUFFER : DEEP);
  const lines: string[] = [];
  const p = GuestProcess.start(image, { pid: "A.1", node: "A", args: [String(depth), "400"], onOutput: (l) => lines.push(l) });
  for (let i = 0; i < 100 && !lines.includes("bottom"); i++) await new Promise((r) => setTimeout(r, 10));
  expect(lines).toContain("bottom");
  let error: unknown = null;
  try {
    await p.freeze();
  } catch (e) {
    error = e;
  }
  return { p, lines, error, image };
}

describe("Asyncify buffer", () => {
  it("is sized from the module by default and set by --asyncify-stack", async () => {
    const def = (await guestImage(DEEP)).layout;
    const tiny = (await guestImage(DEEP_TINY_BUFFER)).layout;
    expect(def.asyncEnd - def.asyncStart).toBeGreaterThanOrEqual(def.maxFrameBytes * 256);
    expect(tiny.asyncEnd - tiny.asyncStart).toBe(1024);
  });

  it("holds a deep stack frozen while sleeping, which restores", async () => {
    const image = await guestImage(DEEP);
    const reference = await runToEnd(image, ["1500", "300"]);
    const r = await runWithFreezes(image, ["1500", "300"], [150]);
    expect(r.freezes).toBe(1);
    expect(r.snapshots[0].asyncify.length).toBeGreaterThan(1500 * 8);
    expect(r.lines).toEqual(reference.lines);
  });

  it("reports a stack too deep for it, and keeps the process running when it can", async () => {
    const reference = await runToEnd(await guestImage(DEEP_TINY_BUFFER), ["200", "400"]);
    const { p, lines, error } = await freezeAtBottom(200, true);
    expect(error).toBeInstanceOf(AsyncifyOverflowError);
    const e = error as AsyncifyOverflowError;
    expect(e.kept).toBe(true);
    expect(e.capacity).toBe(1024);
    expect(e.needed).toBeGreaterThan(1024);
    expect(e.message).toMatch(/--asyncify-stack/);
    const status = await p.exited;
    expect(status).toEqual(reference.status);
    expect(lines).toEqual(reference.lines);
  });

  it("ends the process with that error when the overflow reached guest memory", async () => {
    const { p, error } = await freezeAtBottom(8000, true);
    expect(error).toBeInstanceOf(AsyncifyOverflowError);
    expect((error as AsyncifyOverflowError).kept, (error as Error).message).toBe(false);
    const status = await p.exited;
    expect(status.code).toBe(1);
    expect(status.error).toMatch(/Asyncify buffer overflowed/);
  });
});
