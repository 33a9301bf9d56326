// --compress (migration/compress.ts, migration/xbzrle.ts): a page sent again
// travels as the delta from its last sent copy and comes out byte for byte;
// packed batches come out as the pages they packed; a delta or a packed batch
// no source sends is refused with a ProtocolError, never applied past its page;
// and between two real nodes, every strategy with --compress ends like an
// unmigrated run, every page checked (MIGRANT_VERIFY=1).

import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { deflateRawSync } from "node:zlib";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyDelta, DeltaError, encodeDelta } from "../host/migration/xbzrle.js";
import { pack, packSync, SentPages, unpack } from "../host/migration/compress.js";
import { BATCH_PAGES, batchMessage, openBatch, type Batch } from "../host/migration/batch.js";
import { ProtocolError } from "../host/net/protocol.js";
import { STRATEGIES, type MigrationStats } from "../host/migration/options.js";
import { WORKLOADS, guestBytes, guestImage, runToEnd } from "./guests.js";
import { background, migrant, startNode, type RunningNode } from "./processes.js";

const PAGE = 4096;

/** A page of `seed`-derived bytes with runs of zeros and text, like a guest's heap. */
function page(seed: number): Uint8Array {
  const p = new Uint8Array(PAGE);
  let x = seed * 2654435761 + 1;
  for (let i = 0; i < PAGE; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    p[i] = i % 512 < 128 ? 0 : (x >>> 24) % 16;
  }
  return p;
}

/** `old` with `edits` [offset, byte] applied. */
function edited(old: Uint8Array, edits: Array<[number, number]>): Uint8Array {
  const p = old.slice();
  for (const [at, v] of edits) p[at] = v;
  return p;
}

describe("XBZRLE deltas", () => {
  it("a page encoded against its old copy and applied to that copy is the page, for any edits", () => {
    const out = new Uint8Array(PAGE * 2);
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1000 }),
        fc.array(fc.tuple(fc.integer({ min: 0, max: PAGE - 1 }), fc.integer({ min: 0, max: 255 })), { maxLength: 300 }),
        (seed, edits) => {
          const old = page(seed);
          const cur = edited(old, edits);
          const end = encodeDelta(old, cur, out, 0, PAGE);
          if (end < 0) return; // too different to be worth a delta: sent whole
          const copy = old.slice();
          applyDelta(out.subarray(0, end), copy);
          expect(Buffer.from(copy).equals(Buffer.from(cur))).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("an unchanged page is an empty delta, a few changed bytes a few bytes, a changed page no delta", () => {
    const out = new Uint8Array(PAGE * 2);
    const old = page(1);
    expect(encodeDelta(old, old.slice(), out, 0, PAGE)).toBe(0);
    const few = encodeDelta(
      old,
      edited(old, [
        [7, 200],
        [8, 201],
        [3000, 99],
      ]),
      out,
      0,
      PAGE,
    );
    expect(few).toBeGreaterThan(0);
    expect(few).toBeLessThanOrEqual(12);
    expect(encodeDelta(old, page(2), out, 0, PAGE / 2)).toBe(-1);
  });

  it("a delta that runs past its page, ends inside a length or a run, or has an empty run is refused", () => {
    const p = new Uint8Array(PAGE);
    const bad = [
      [0x80, 0x20, 1, 9], // a zrun of 4096, then a byte past the page
      [0, 0xff], // a length cut short
      [0, 4, 1, 2], // a run of 4 bytes with 2 left
      [5, 0], // an empty run
      [0xff, 0xff, 0xff, 0xff, 0xff, 0x01], // a length of 6 bytes
    ];
    for (const d of bad) expect(() => applyDelta(Uint8Array.from(d), p), JSON.stringify(d)).toThrow(DeltaError);
    expect(p.every((b) => b === 0)).toBe(true);
  });
});

describe("packed batches", () => {
  const batchOf = (pages: number[], contents: Uint8Array[]): Batch => {
    const data = new Uint8Array(pages.length * PAGE);
    contents.forEach((c, i) => data.set(c, i * PAGE));
    return { indices: Uint32Array.from(pages), data };
  };
  /** a destination memory of 64 pages that installs batches as the node does */
  const memory = () => new Uint8Array(64 * PAGE);
  const install = (mem: Uint8Array, b: Batch) => b.indices.forEach((p, i) => mem.set(b.data.subarray(i * PAGE, (i + 1) * PAGE), p * PAGE));

  it("a round resent as deltas against what was sent comes out as the pages, in a small part of their size", async () => {
    const pages = [3, 4, 9, 20, 21, 40];
    const sent = new SentPages(PAGE);
    const dest = memory();
    const first = batchOf(
      pages,
      pages.map((p) => page(p)),
    );
    const one = await pack(first, PAGE, sent, true);
    expect(one.deltas).toBe(0);
    install(dest, { indices: first.indices, data: unpack(one.data, first.indices, PAGE, dest) });
    const second = batchOf(
      pages,
      pages.map((p) =>
        edited(page(p), [
          [p, 255],
          [p + 100, 254],
        ]),
      ),
    );
    const two = await pack(second, PAGE, sent, true);
    expect(two.deltas).toBe(pages.length);
    expect(two.data.length).toBeLessThan(second.data.length / 50);
    const out = unpack(two.data, second.indices, PAGE, dest);
    expect(Buffer.from(out).equals(Buffer.from(second.data))).toBe(true);
  });

  it("post-copy's batches are deflated only; random pages do not shrink (the stream then sends them plain)", () => {
    const b = batchOf([1, 2], [page(1), page(2)]);
    const packed = packSync(b, PAGE);
    expect(packed.deltas).toBe(0);
    expect(packed.data.length).toBeLessThan(b.data.length);
    expect(Buffer.from(unpack(packed.data, b.indices, PAGE, memory())).equals(Buffer.from(b.data))).toBe(true);
    const noise = batchOf([1], [Uint8Array.from({ length: PAGE }, () => Math.floor(Math.random() * 256))]);
    expect(packSync(noise, PAGE).data.length).toBeGreaterThanOrEqual(noise.data.length);
  });

  it("a copy is kept for at most the budget's pages", async () => {
    const sent = new SentPages(PAGE, 2 * PAGE);
    await pack(batchOf([1, 2, 3], [page(1), page(2), page(3)]), PAGE, sent, true);
    expect(sent.get(1)).toBeDefined();
    expect(sent.get(2)).toBeDefined();
    expect(sent.get(3)).toBeUndefined();
  });

  it("a packed batch that does not inflate, inflates past its pages, or whose records do not fit is a ProtocolError", () => {
    const idx = Uint32Array.from([1, 2]);
    const records = (...parts: number[][]) => deflateRawSync(Uint8Array.from(parts.flat()));
    const whole = (b: number) => [0, ...new Array<number>(PAGE).fill(b)];
    const bad: Array<[string, Uint8Array]> = [
      ["not deflate", Uint8Array.from([0xff, 0xfe, 0xfd, 1, 2, 3])],
      ["a bomb", deflateRawSync(new Uint8Array(100 * PAGE))],
      ["one page short", records(whole(1))],
      ["a byte after the last page", records(whole(1), whole(2), [0])],
      ["a record of no kind", records(whole(1), [7, 1, 2])],
      ["a delta past its page", records(whole(1), [1, 4, 0x80, 0x20, 1, 9])],
      ["a delta longer than a page", records(whole(1), [1, 0x81, 0x40])],
    ];
    // a few bytes that claim a full batch of pages: refused before anything is allocated for them
    expect(() => unpack(records([1, 0]), new Uint32Array(1024), PAGE, memory())).toThrow(/2 bytes of records for 1024 pages/);
    for (const [what, data] of bad) expect(() => unpack(data, idx, PAGE, memory()), what).toThrow(ProtocolError);
  });

  it("a batch of no encoding, or packed with no pages or no data, is refused before its checksum", () => {
    const b = batchOf([1], [page(1)]);
    const msg = batchMessage(1, b, packSync(b, PAGE).data);
    expect(openBatch(msg, PAGE)?.packed).toBe(true);
    expect(() => openBatch({ ...msg, enc: 2 }, PAGE)).toThrow(/no encoding/);
    expect(() => openBatch({ ...msg, data: new Uint8Array(0) }, PAGE)).toThrow(ProtocolError);
    expect(() => openBatch({ ...msg, indices: new Uint8Array(0) }, PAGE)).toThrow(ProtocolError);
    // a packed batch's size is not bounded by its bytes: more pages than any source packs is refused
    expect(() => openBatch({ ...msg, indices: new Uint8Array(4 * (BATCH_PAGES + 1)) }, PAGE)).toThrow(/1 to 1024/);
  });
});

describe("--compress between two nodes", () => {
  const kvstore = WORKLOADS.find((w) => w.name === "kvstore")!;
  let A: RunningNode, B: RunningNode;
  const at = (n: RunningNode) => ({ MIGRANT_NODE: n.url });
  beforeAll(async () => {
    A = await startNode("A", ["--heartbeat", "200"], { MIGRANT_VERIFY: "1" });
    B = await startNode("B", ["--heartbeat", "200", "--join", A.url], { MIGRANT_VERIFY: "1" });
  });
  afterAll(() => [A, B].forEach((n) => n?.child.kill("SIGKILL")));

  it("a kvstore moved by every strategy with --compress ends like an unmigrated run; its rounds resend pages as deltas", async () => {
    const args = ["4", "100000000"];
    const reference = await runToEnd(await guestImage(kvstore), args);
    const done = reference.lines.filter((l) => l.startsWith("done "));
    expect(done).toHaveLength(1);
    const wasm = join(mkdtempSync(join(tmpdir(), "migrant-compress-")), "kvstore.wasm");
    writeFileSync(wasm, await guestBytes(kvstore));
    const pid = (await migrant(["run", wasm, ...args, "-d"], at(A))).stdout.trim();
    expect(pid).toMatch(/^A\.\d+$/);
    const follower = background(["attach", pid], at(A));
    await follower.firstLine;
    let here = "A";
    for (const strategy of STRATEGIES) {
      const to = here === "A" ? "B" : "A";
      const r = await migrant(["migrate", pid, "--to", to, "--strategy", strategy, "--compress", "--json"], at(A));
      expect(r.stdout, r.stderr).not.toBe("");
      const s = JSON.parse(r.stdout) as MigrationStats;
      expect(s.result, `${strategy}: ${s.error}`).toBe("completed");
      expect(s.bytesSent, strategy).toBeLessThan(s.rawBytes);
      if (strategy === "precopy") expect(s.deltaPages).toBeGreaterThan(0);
      if (strategy === "freeze" || strategy === "postcopy") expect(s.deltaPages).toBe(0);
      here = to;
    }
    const out = await follower.done;
    expect(out.stdout.split("\n").filter((l) => l.startsWith("done "))).toEqual(done);
  });
});
