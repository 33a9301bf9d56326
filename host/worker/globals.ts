// A frozen guest's globals, as they travel: every exported mutable global of
// the instrumented module (instrument/instrument.ts exports them), read into
// JSON-safe values and written back into a new instance.

import type { GlobalSlot } from "../memory/layout.js";
import type { GlobalValue } from "./messages.js";

type Exports = Record<string, unknown>;

/** Every global of the module: i64 as a decimal string, a float JSON cannot carry (NaN, +-Infinity, -0) as its name. */
export function saveGlobals(raw: Exports, slots: GlobalSlot[]): Record<string, GlobalValue> {
  const out: Record<string, GlobalValue> = {};
  for (const g of slots) {
    const v = (raw[g.export] as WebAssembly.Global).value;
    out[g.export] = typeof v === "bigint" || !Number.isFinite(v) ? String(v) : Object.is(v, -0) ? "-0" : v;
  }
  return out;
}

/** Sets every global of the module from saved values. */
export function loadGlobals(raw: Exports, slots: GlobalSlot[], values: Record<string, GlobalValue>): void {
  for (const g of slots) {
    const v = values[g.export];
    if (v === undefined) throw new Error(`snapshot lacks global ${g.export}`);
    (raw[g.export] as WebAssembly.Global).value = g.type === "i64" ? BigInt(v) : Number(v);
  }
}
