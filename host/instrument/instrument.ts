// The instrumenter: turns asc's output into a migratable module (docs/DESIGN.md section 3).
//
//  1. read the binary with binaryen.js and set an explicit feature list
//     (Features.All makes Binaryen emit an import kind Node 20 rejects);
//  2. add the imports the barriers and polls call, and the barrier helpers;
//  3. rewrite every function body (rewrite.ts): barriers on memory accesses,
//     safepoint polls at loop heads and at entries of calling functions;
//  4. export every mutable global, so that the host can save and restore the
//     globals of a frozen process;
//  5. run Asyncify, limited to the imports that may freeze (the poll import and
//     sleep), so that a poll can unwind the whole stack into the Asyncify buffer
//     and a later call can rewind it;
//  6. derive the variants (variants.ts), optimize each, and pack them into one
//     file: the plain variant as the module's own code, the others as custom
//     sections, and the layout as the `migrant` section.

import binaryen from "binaryen";
import { Fn } from "./fn.js";
import { addHelpers, addImports, ASYNCIFY_IMPORTS, HELPERS, setHelperBodies } from "./helpers.js";
import { rewriteModule, type RewriteStats } from "./rewrite.js";
import { PRIMARY, VARIANTS, VARIANT_NAMES, variantSection, type Variant } from "./variants.js";
import { encodeLayout, SECTION_NAME, type GlobalSlot, type Layout } from "../memory/layout.js";

const F = binaryen.Features;
export const FEATURES =
  F.MVP | F.Atomics | F.MutableGlobals | F.BulkMemory | F.BulkMemoryOpt | F.SignExt | F.NontrappingFPToInt | F.SIMD128 | F.Multivalue;

export interface InstrumentResult {
  wasm: Uint8Array;
  layout: Layout;
  stats: RewriteStats;
}

const GLOBAL_TYPES = new Map<number, GlobalSlot["type"]>([
  [binaryen.i32, "i32"],
  [binaryen.i64, "i64"],
  [binaryen.f32, "f32"],
  [binaryen.f64, "f64"],
]);

function read(bytes: Uint8Array): binaryen.Module {
  const m = binaryen.readBinary(bytes);
  m.setFeatures(FEATURES);
  return m;
}

function exportMutableGlobals(m: binaryen.Module): GlobalSlot[] {
  const out: GlobalSlot[] = [];
  for (let i = 0; i < m.getNumGlobals(); i++) {
    const g = binaryen.getGlobalInfo(m.getGlobalByIndex(i));
    if (!g.mutable || g.module) continue;
    const type = GLOBAL_TYPES.get(g.type);
    if (!type) throw new Error(`instrumenter: mutable global ${g.name} has a type migrant cannot save`);
    const name = `__migrant_g${out.length}`;
    m.addGlobalExport(g.name, name);
    out.push({ export: name, type });
  }
  return out;
}

/** Largest number of locals of any non-runtime function: a bound on one Asyncify frame. */
function maxFrameBytes(m: binaryen.Module): number {
  let max = 0;
  for (let i = 0; i < m.getNumFunctions(); i++) {
    const f = m.getFunctionByIndex(i);
    const info = binaryen.getFunctionInfo(f);
    if (info.module || HELPERS.includes(info.name)) continue;
    max = Math.max(max, Fn.getNumLocals(f));
  }
  // a local is at most 8 bytes (16 for v128, rare), plus the call index
  return max * 8 + 8;
}

function withOptions<T>(fn: () => T): T {
  const saved = {
    opt: binaryen.getOptimizeLevel(),
    shrink: binaryen.getShrinkLevel(),
    inline: binaryen.getAlwaysInlineMaxSize(),
    debug: binaryen.getDebugInfo(),
  };
  try {
    binaryen.setOptimizeLevel(3);
    binaryen.setShrinkLevel(0);
    // keep the name section between stages: the variants find the helpers by name
    binaryen.setDebugInfo(true);
    return fn();
  } finally {
    binaryen.setOptimizeLevel(saved.opt);
    binaryen.setShrinkLevel(saved.shrink);
    binaryen.setAlwaysInlineMaxSize(saved.inline);
    binaryen.setDebugInfo(saved.debug);
    binaryen.clearPassArguments();
  }
}

/** Instruments asc's output for the given layout (whose `base` asc was told). */
export function instrument(ascOutput: Uint8Array, plan: Layout): InstrumentResult {
  return withOptions(() => {
    const m = read(ascOutput);
    const mem = m.getMemoryInfo();
    addImports(m);
    addHelpers(m, plan);
    const stats = rewriteModule(m);
    const globals = exportMutableGlobals(m);
    const frame = maxFrameBytes(m);
    binaryen.setPassArgument("asyncify-imports", ASYNCIFY_IMPORTS.join(","));
    m.runPasses(["asyncify"]);
    if (!m.validate()) throw new Error("instrumenter: the module is invalid after Asyncify");
    const common = m.emitBinary();
    m.dispose();

    const layout: Layout = {
      ...plan,
      initialPages: mem.initial,
      globals,
      maxFrameBytes: frame,
      variants: [...VARIANT_NAMES],
    };
    const built = new Map<Variant, Uint8Array>();
    for (const v of VARIANT_NAMES) built.set(v, buildVariant(common, layout, v));

    const out = read(built.get(PRIMARY)!);
    out.addCustomSection(SECTION_NAME, encodeLayout(layout));
    for (const v of VARIANT_NAMES) if (v !== PRIMARY) out.addCustomSection(variantSection(v), built.get(v)!);
    const wasm = out.emitBinary();
    out.dispose();
    return { wasm, layout, stats };
  });
}

/** The optimization every variant gets after Asyncify. */
function finalOptimize(m: binaryen.Module): void {
  binaryen.setAlwaysInlineMaxSize(40);
  m.optimize();
}

/**
 * An uninstrumented module given the same final optimization as the variants:
 * the fair baseline of the overhead benchmark (asc's output alone is optimized
 * less, and would flatter the instrumented builds).
 */
export function optimizeUninstrumented(ascOutput: Uint8Array): Uint8Array {
  return withOptions(() => {
    const m = read(ascOutput);
    finalOptimize(m);
    const bytes = m.emitBinary();
    m.dispose();
    return bytes;
  });
}

function buildVariant(common: Uint8Array, layout: Layout, v: Variant): Uint8Array {
  const m = read(common);
  setHelperBodies(m, layout, VARIANTS[v]);
  finalOptimize(m);
  if (!m.validate()) throw new Error(`instrumenter: variant ${v} is invalid after optimization`);
  const bytes = m.emitBinary();
  m.dispose();
  return bytes;
}
