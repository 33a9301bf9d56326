// The write barrier marks exactly the pages a write touches, and the presence
// barrier faults exactly the absent pages an access touches, then proceeds with
// what was installed. Run in-process on the memops guest, calling its exports
// directly, with the dirty and present maps read byte for byte.

import { beforeAll, describe, expect, it } from "vitest";
import type { Image } from "../host/image.js";
import type { Variant } from "../host/instrument/variants.js";
import { newMemory } from "../host/memory/pages.js";
import { MEMOPS, guestImage } from "./guests.js";

const PAGE = 4096;
let image: Image;
beforeAll(async () => {
  image = await guestImage(MEMOPS);
});

interface Guest {
  /** the test guest's exports (the i64 ones take and return bigint) */
  x: Record<string, (...args: Array<number | bigint>) => number>;
  memory: WebAssembly.Memory;
  dirty: Uint8Array;
  present: Uint8Array;
  faults: number[];
  /** first tracked page of a scratch area well above the guest's data */
  p: number;
}

function instantiate(variant: Variant, onFault?: (page: number, g: Guest) => void): Guest {
  const L = image.layout;
  const memory = newMemory(L);
  memory.grow(64);
  const g = {
    memory,
    dirty: new Uint8Array(memory.buffer, L.dirty, L.trackedPages),
    present: new Uint8Array(memory.buffer, L.present, L.trackedPages),
    faults: [] as number[],
    p: L.base / PAGE + 200,
  } as Guest;
  const fail = () => {
    throw new Error("unexpected import call");
  };
  const instance = new WebAssembly.Instance(image.module(variant), {
    env: { memory, abort: fail, trace: fail, seed: () => 1 },
    migrant: {
      print: () => undefined,
      sleep: fail,
      now: () => 0,
      pid: fail,
      node: fail,
      argc: () => 0,
      argv: fail,
      exit: fail,
      __freeze: fail,
      __fault: (page: number) => {
        g.faults.push(page);
        if (!onFault) throw new Error(`fault on page ${page} with no handler`);
        onFault(page, g);
      },
    },
  });
  g.x = instance.exports as Guest["x"];
  if (variant === "postcopy") g.present.fill(1);
  g.x._start();
  g.dirty.fill(0);
  return g;
}

/** The dirty pages since the last call, as offsets from g.p; clears them. */
function takeDirty(g: Guest): number[] {
  const out: number[] = [];
  g.dirty.forEach((b, i) => {
    if (b) out.push(i - g.p);
  });
  g.dirty.fill(0);
  return out;
}

describe("write barrier (track variant)", () => {
  it("marks the one page of an aligned store", () => {
    const g = instantiate("track");
    g.x.store32((g.p + 3) * PAGE + 100, 5);
    expect(takeDirty(g)).toEqual([3]);
    expect(g.x.load32((g.p + 3) * PAGE + 100)).toBe(5);
    expect(takeDirty(g)).toEqual([]);
  });

  it("marks both pages of a 4-byte and an 8-byte store straddling a page boundary", () => {
    const g = instantiate("track");
    g.x.store32((g.p + 2) * PAGE - 2, 0x11223344);
    expect(takeDirty(g)).toEqual([1, 2]);
    g.x.store64((g.p + 6) * PAGE - 4, 0x1122334455667788n);
    expect(takeDirty(g)).toEqual([5, 6]);
    expect(g.x.load64((g.p + 6) * PAGE - 4)).toBe(0x1122334455667788n);
    g.x.store64((g.p + 8) * PAGE - 8, 1n);
    expect(takeDirty(g)).toEqual([7]);
    g.x.store8((g.p + 9) * PAGE - 1, 1);
    expect(takeDirty(g)).toEqual([8]);
  });

  it("counts a store's static offset", () => {
    const g = instantiate("track");
    g.x.storeOffset(g.p * PAGE + 200, 9); // 200 + 4000 lands on the next page
    expect(takeDirty(g)).toEqual([1]);
  });

  it("marks the whole range of memory.fill and the destination of memory.copy", () => {
    const g = instantiate("track");
    g.x.fill(g.p * PAGE + 10, 7, 3 * PAGE);
    expect(takeDirty(g)).toEqual([0, 1, 2, 3]);
    g.x.fill(g.p * PAGE, 7, 0);
    expect(takeDirty(g)).toEqual([]);
    g.x.copy((g.p + 10) * PAGE + 4000, g.p * PAGE + 10, 200);
    expect(takeDirty(g)).toEqual([10, 11]);
    expect(g.x.load32((g.p + 10) * PAGE + 4000)).toBe(0x07070707);
  });

  it("marks SIMD and atomic writes", () => {
    const g = instantiate("track");
    g.x.simdStore((g.p + 1) * PAGE - 6, 3);
    expect(takeDirty(g)).toEqual([0, 1]);
    expect(g.x.simdLoadSum((g.p + 1) * PAGE - 6)).toBe(6);
    g.x.atomicAdd((g.p + 4) * PAGE + 8, 2);
    expect(takeDirty(g)).toEqual([4]);
    expect(g.x.cmpxchg((g.p + 5) * PAGE + 8, 0, 4)).toBe(0);
    expect(takeDirty(g)).toEqual([5]);
  });

  it("marks writes into memory grown at run time", () => {
    const g = instantiate("track");
    const old: number = g.x.grow(4);
    expect(old).toBeGreaterThan(0);
    const addr = old * 65536 + 5 * PAGE + 12;
    g.x.store32(addr, 77);
    expect(takeDirty(g).map((d) => d + g.p)).toEqual([addr >>> 12]);
    expect(g.x.load32(addr)).toBe(77);
  });

  it("is absent from the plain variant, which marks nothing", () => {
    const g = instantiate("plain");
    g.x.store32((g.p + 3) * PAGE + 100, 5);
    g.x.fill(g.p * PAGE, 1, 2 * PAGE);
    expect(takeDirty(g)).toEqual([]);
  });
});

describe("presence barrier (postcopy variant)", () => {
  const pattern = (page: number) => (page * 0x01010101) | 0x80000000;
  const install = (page: number, g: Guest) => {
    new Int32Array(g.memory.buffer, page * PAGE, PAGE / 4).fill(pattern(page));
    g.present[page] = 1;
  };

  it("faults exactly the absent page a load touches, then reads what was installed", () => {
    const g = instantiate("postcopy", install);
    const a = g.p + 3;
    g.present[a] = 0;
    g.present[a + 1] = 0;
    expect(g.x.load32(a * PAGE + 16)).toBe(pattern(a));
    expect(g.faults).toEqual([a]);
    expect(g.x.load32(a * PAGE + 20)).toBe(pattern(a));
    expect(g.x.load32((g.p + 7) * PAGE)).toBe(0);
    expect(g.faults).toEqual([a]);
  });

  it("faults both absent pages of a straddling load, in order", () => {
    const g = instantiate("postcopy", install);
    const a = g.p + 10;
    g.present[a] = 0;
    g.present[a + 1] = 0;
    g.x.load64((a + 1) * PAGE - 4);
    expect(g.faults).toEqual([a, a + 1]);
  });

  it("installs an absent page before a store into it, so the store survives", () => {
    const g = instantiate("postcopy", install);
    const a = g.p + 12;
    g.present[a] = 0;
    g.x.store32(a * PAGE + 8, 1234);
    expect(g.faults).toEqual([a]);
    expect(g.x.load32(a * PAGE + 8)).toBe(1234);
    expect(g.x.load32(a * PAGE + 12)).toBe(pattern(a));
  });

  it("faults the absent pages of a memory.copy source and destination", () => {
    const g = instantiate("postcopy", install);
    const src = g.p + 20;
    const dst = g.p + 30;
    g.present[src] = 0;
    g.present[dst + 1] = 0;
    g.x.copy(dst * PAGE + 4000, src * PAGE, 200);
    expect(g.faults).toEqual([src, dst + 1]);
    expect(g.x.load32(dst * PAGE + 4000)).toBe(pattern(src));
    expect(g.x.load32((dst + 1) * PAGE + 200)).toBe(pattern(dst + 1));
  });

  it("does not fault when every page is present", () => {
    const g = instantiate("postcopy", install);
    g.x.fill(g.p * PAGE, 1, 8 * PAGE);
    g.x.load64((g.p + 1) * PAGE - 4);
    expect(g.faults).toEqual([]);
  });
});
