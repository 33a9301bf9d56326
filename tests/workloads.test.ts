// The benchmark workloads: each does its work, reports its rate, and ends with
// the same result when frozen and restored on the way, in every variant (which
// is what a migration does to it). hash computes real SHA-256.

import { createHash } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import type { Image } from "../host/image.js";
import { WORKLOADS, guestImage, runToEnd, runWithFreezes, type Guest, type Run } from "./guests.js";
import { random } from "./seed.js";

const doneLine = (r: Run) => r.lines.filter((l) => l.startsWith("done "));

describe.each(WORKLOADS)("$name", (g: Guest) => {
  let image: Image;
  let reference: Run;
  let ms: number;
  beforeAll(async () => {
    image = await guestImage(g);
    const t0 = performance.now();
    reference = await runToEnd(image, g.args);
    ms = performance.now() - t0;
  });

  it("does its work and reports it: tick lines, then a done line", () => {
    expect(reference.status).toEqual({ outcome: "exited", code: 0, error: null });
    expect(doneLine(reference)).toHaveLength(1);
    expect(reference.lines.every((l) => /^(tick \d+ [\d.]+ [\d.]+|done .+)$/.test(l))).toBe(true);
  });

  it("ends with the same result when frozen and restored at random moments, in every variant", async () => {
    for (let trial = 0; trial < 3; trial++) {
      const r = await runWithFreezes(
        image,
        g.args,
        [random() * ms * 0.3, random() * ms * 0.3, random() * ms * 0.3],
        ["track", "postcopy", "plain"],
      );
      expect(r.status).toEqual(reference.status);
      expect(doneLine(r)).toEqual(doneLine(reference));
    }
  });
});

describe("hash", () => {
  it("computes real SHA-256 of the buffer it wrote", async () => {
    const g = WORKLOADS.find((w) => w.name === "hash")!;
    const r = await runToEnd(await guestImage(g), ["1", "1"]);
    let x = 777;
    const d = Buffer.alloc(1 << 20);
    for (let i = 0; i < d.length; i++) {
      x = (x ^ (x << 13)) >>> 0;
      x = (x ^ (x >>> 17)) >>> 0;
      x = (x ^ (x << 5)) >>> 0;
      d[i] = x & 255;
    }
    expect(doneLine(r)).toEqual([`done 1 ${createHash("sha256").update(d).digest("hex")}`]);
  });
});
