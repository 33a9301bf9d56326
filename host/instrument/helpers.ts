// The barrier helpers and the imports they and the safepoint polls call.
//
// The instrumenter never inlines a barrier where it inserts it: it inserts a
// call to one of four small helper functions (fixed-size or range, write or
// presence). Asyncify then sees only calls that can never unwind and leaves
// them alone, so every variant of the module shares one Asyncify layout.
// After Asyncify each variant gives the helpers its own bodies and lets the
// optimizer inline them (instrument/variants.ts):
//
//   wb(addr, len)   write barrier, len <= page size: mark the pages of the
//                   first and the last byte dirty (an access may straddle two)
//   wbr(addr, len)  write barrier over a range (memory.fill/copy/init)
//   pb(addr, len)   presence barrier: for the first and the last byte's page,
//                   if the present byte is 0 call the blocking fault import
//   pbr(addr, len)  presence barrier over a range
//
// A range helper clamps to the tracked pages, so that an out-of-bounds bulk
// operation traps in the guest rather than scribbling over the maps.

import binaryen from "binaryen";
import { Fn } from "./fn.js";
import type { Layout } from "../memory/layout.js";
import { CTRL, CTRL_INTERRUPT } from "../memory/layout.js";

export const WB = "__migrant_wb";
export const WBR = "__migrant_wbr";
export const PB = "__migrant_pb";
export const PBR = "__migrant_pbr";
export const HELPERS = [WB, WBR, PB, PBR];

/** Imports added by the instrumenter (module "migrant"). */
export const FREEZE_IMPORT = { internal: "__migrant_freeze", base: "__freeze" };
export const FAULT_IMPORT = { internal: "__migrant_fault", base: "__fault" };
/** The imports that may start an Asyncify unwind (freeze points). */
export const ASYNCIFY_IMPORTS = ["migrant.__freeze", "migrant.sleep", "migrant.send", "migrant.recv"];

const { i32, none } = binaryen;
const P_ADDR = 0;
const P_LEN = 1;
const V_P = 2;
const V_Q = 3;
const HELPER_VARS = [i32, i32];

export function addImports(m: binaryen.Module): void {
  m.addFunctionImport(FREEZE_IMPORT.internal, "migrant", FREEZE_IMPORT.base, none, none);
  m.addFunctionImport(FAULT_IMPORT.internal, "migrant", FAULT_IMPORT.base, i32, none);
}

/** The internal name of an imported function (names of imports do not survive a binary round trip). */
function importedAs(m: binaryen.Module, base: string): string {
  for (let i = 0; i < m.getNumFunctions(); i++) {
    const info = binaryen.getFunctionInfo(m.getFunctionByIndex(i));
    if (info.module === "migrant" && info.base === base) return info.name;
  }
  throw new Error(`instrumenter: import migrant.${base} is missing from the module`);
}

/** Adds the four helpers with their full (write + presence) bodies. */
export function addHelpers(m: binaryen.Module, layout: Layout): void {
  const params = binaryen.createType([i32, i32]);
  for (const name of HELPERS) m.addFunction(name, params, none, HELPER_VARS, helperBody(m, layout, name, true));
}

/** Gives each helper its body for a variant: active, or an empty body that inlines away. */
export function setHelperBodies(m: binaryen.Module, layout: Layout, active: { write: boolean; presence: boolean }): void {
  for (const name of HELPERS) {
    const on = name === WB || name === WBR ? active.write : active.presence;
    const f = m.getFunction(name);
    if (!f) throw new Error(`instrumenter: helper ${name} is missing from the module`);
    Fn.setBody(f, helperBody(m, layout, name, on));
  }
}

/** `if (interrupt word) freeze()`: the safepoint poll. */
export function poll(m: binaryen.Module): binaryen.ExpressionRef {
  return m.if(m.i32.atomic.load(CTRL + CTRL_INTERRUPT * 4, m.i32.const(0)), m.call(FREEZE_IMPORT.internal, [], none));
}

function helperBody(m: binaryen.Module, L: Layout, name: string, active: boolean): binaryen.ExpressionRef {
  if (!active) return m.nop();
  const get = (i: number) => m.local.get(i, i32);
  const shift = m.i32.const(L.pageShift);
  const firstPage = m.i32.shr_u(get(P_ADDR), shift);
  const lastPage = () => m.i32.shr_u(m.i32.sub(m.i32.add(get(P_ADDR), get(P_LEN)), m.i32.const(1)), m.i32.const(L.pageShift));
  const mark = (page: binaryen.ExpressionRef) => m.i32.store8(L.dirty, 1, page, m.i32.const(1));
  const absent = (page: binaryen.ExpressionRef) => m.i32.eqz(m.i32.load8_u(L.present, 1, page));
  const fault = (page: binaryen.ExpressionRef) => m.call(importedAs(m, FAULT_IMPORT.base), [page], none);
  const clampedLast = () => m.select(m.i32.lt_u(lastPage(), m.i32.const(L.trackedPages)), lastPage(), m.i32.const(L.trackedPages - 1));
  const rangeLoop = (label: string, each: (p: binaryen.ExpressionRef) => binaryen.ExpressionRef) =>
    m.if(
      get(P_LEN),
      m.block(null, [
        m.local.set(V_P, firstPage),
        m.local.set(V_Q, clampedLast()),
        m.loop(
          label,
          m.if(
            m.i32.le_u(get(V_P), get(V_Q)),
            m.block(null, [each(get(V_P)), m.local.set(V_P, m.i32.add(get(V_P), m.i32.const(1))), m.br(label)]),
          ),
        ),
      ]),
    );
  switch (name) {
    case WB:
      return m.block(null, [mark(firstPage), mark(lastPage())]);
    case PB:
      return m.block(null, [
        m.local.set(V_P, firstPage),
        m.if(absent(get(V_P)), fault(get(V_P))),
        m.local.set(V_Q, lastPage()),
        m.if(m.i32.and(m.i32.ne(get(V_Q), get(V_P)), absent(get(V_Q))), fault(get(V_Q))),
      ]);
    case WBR:
      return rangeLoop("wbr", mark);
    case PBR:
      return rangeLoop("pbr", (p) => m.if(absent(p), fault(m.local.get(V_P, i32))));
  }
  throw new Error(`unknown helper ${name}`);
}
