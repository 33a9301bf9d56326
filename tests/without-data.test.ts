// A module with its active data segments emptied (instrument/without-data.ts),
// for warm workers that instantiate while the process still runs: checked
// against binaryen's own reading of the result, on real instrumented guests.

import binaryen from "binaryen";
import { describe, expect, it } from "vitest";
import { withoutData } from "../host/instrument/without-data.js";
import { VARIANT_NAMES, variantSection, PRIMARY } from "../host/instrument/variants.js";
import { EXAMPLE_GUESTS, WORKLOADS, guestBytes } from "./guests.js";

/** Each data segment's length and whether it is passive, as binaryen reads the module. */
function segments(bytes: Uint8Array): Array<{ length: number; passive: boolean }> {
  const m = binaryen.readBinary(bytes);
  // binaryen.js has these, though its types do not say so
  const api = m as unknown as {
    getNumDataSegments(): number;
    getDataSegmentByIndex(i: number): number;
    getDataSegmentInfo(s: number): { data: ArrayBuffer; passive: boolean };
  };
  const out = Array.from({ length: api.getNumDataSegments() }, (_, i) => {
    const s = api.getDataSegmentInfo(api.getDataSegmentByIndex(i));
    return { length: s.data.byteLength, passive: s.passive };
  });
  m.dispose();
  return out;
}

describe("a module without its data", () => {
  it("keeps every segment, each active one emptied, and the module's imports and exports, in every variant of real guests", async () => {
    for (const g of [EXAMPLE_GUESTS.find((x) => x.name === "strings")!, WORKLOADS.find((x) => x.name === "kvstore")!]) {
      const file = await guestBytes(g);
      const primary = new WebAssembly.Module(file as Uint8Array<ArrayBuffer>);
      for (const v of VARIANT_NAMES) {
        const bytes = v === PRIMARY ? file : new Uint8Array(WebAssembly.Module.customSections(primary, variantSection(v))[0]);
        const before = segments(bytes);
        expect(
          before.some((s) => s.length > 0),
          `${g.name} ${v} has data`,
        ).toBe(true);
        const after = withoutData(bytes);
        expect(after, `${g.name} ${v}`).not.toBeNull();
        expect(segments(after!)).toEqual(before.map((s) => ({ length: s.passive ? s.length : 0, passive: s.passive })));
        const a = new WebAssembly.Module(after! as Uint8Array<ArrayBuffer>);
        const b = new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>);
        expect(WebAssembly.Module.exports(a)).toEqual(WebAssembly.Module.exports(b));
        expect(WebAssembly.Module.imports(a)).toEqual(WebAssembly.Module.imports(b));
      }
    }
  });

  it("gives null for bytes it cannot read, and a module without a data section as it is", () => {
    expect(withoutData(Uint8Array.of(0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 11, 5, 1, 0, 0x99, 0x0b, 0))).toBeNull(); // an offset of opcode 0x99
    expect(withoutData(Uint8Array.of(0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 11, 40, 1))).toBeNull(); // a section longer than the file
    const empty = Uint8Array.of(0, 0x61, 0x73, 0x6d, 1, 0, 0, 0);
    expect(withoutData(empty)).toEqual(empty);
  });
});
