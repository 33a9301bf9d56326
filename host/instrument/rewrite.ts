// The rewriter: inserts barriers and safepoint polls into every function body.
//
// It walks each body bottom-up (children first, see children.ts) and replaces
// every memory access by a block that evaluates the access's operands into
// fresh locals in their original order, calls the barrier helpers on the
// address, then performs the access on those locals:
//
//     (i32.store offset=8 (P) (V))
//  => (block (local.set $p P) (local.set $v V)
//            (call $pb (i32.add $p 8) 4)
//            (i32.store offset=8 $p $v)
//            (call $wb (i32.add $p 8) 4))
//
// The presence barrier goes before the access (the page must be there), the
// write barrier *after* the write: the node clears a page's dirty byte and then
// copies the page, so a mark set after the store either survives the clear (the
// page goes again) or was set before the copy began (the copy has the store).
// A mark set before the store could be cleared and copied before the store
// lands, and the write would be lost. Operands are computed first so that
// nothing (in particular no freeze point inside V) sits between a barrier and
// the access it covers.
//
//   loads, SIMD loads, atomic wait          presence barrier
//   stores, atomic RMW/cmpxchg, SIMD stores presence + write barrier
//   memory.fill / memory.init               range presence + range write
//   memory.copy                             range presence on source and
//                                           destination, range write on dest
//
// The temporaries of an access nested inside another access's operands must
// not be the outer one's, so they are keyed by nesting depth and reused
// between siblings (a body gets a few locals, not one per access).
//
// Safepoint polls go at the head of every loop body and at the entry of every
// function that calls another guest function (only recursion or loops can run
// unboundedly; a leaf function without loops always returns soon). The
// runtime (allocator and collector: every function reachable by direct calls
// from the exports __new, __pin, __unpin and __collect) gets no polls: the host
// calls those exports from inside imports (__new for strings it hands over) and
// must never see such a nested call unwind; their loops are bounded by the heap.
// (asc without --debug emits no names, so the runtime is found by its calls.)

import binaryen from "binaryen";
import { Expr as B, Fn } from "./fn.js";
import { childSlots } from "./children.js";
import { HELPERS, PB, PBR, WB, WBR, poll } from "./helpers.js";

type Ref = binaryen.ExpressionRef;
const { i32, none, unreachable } = binaryen;

const RUNTIME_EXPORTS = ["__new", "__pin", "__unpin", "__collect"];

export interface RewriteStats {
  functions: number;
  accesses: number;
  polls: number;
}

const MEMORY_OPS = new Set<number>([
  binaryen.LoadId,
  binaryen.StoreId,
  binaryen.AtomicRMWId,
  binaryen.AtomicCmpxchgId,
  binaryen.AtomicWaitId,
  binaryen.SIMDLoadId,
  binaryen.SIMDLoadStoreLaneId,
  binaryen.MemoryFillId,
  binaryen.MemoryCopyId,
  binaryen.MemoryInitId,
]);

export function rewriteModule(m: binaryen.Module): RewriteStats {
  const stats: RewriteStats = { functions: 0, accesses: 0, polls: 0 };
  const imported = new Set<string>();
  const funcs: binaryen.FunctionRef[] = [];
  for (let i = 0; i < m.getNumFunctions(); i++) {
    const f = m.getFunctionByIndex(i);
    const info = binaryen.getFunctionInfo(f);
    if (info.module) imported.add(info.name);
    else if (!HELPERS.includes(info.name)) funcs.push(f);
  }
  const runtime = runtimeFunctions(m, funcs);
  for (const f of funcs) new FunctionRewriter(m, f, imported, !runtime.has(Fn.getName(f)), stats).run();
  return stats;
}

/** Direct callees of a function body. */
function callees(body: Ref, out: Set<string>): void {
  if (binaryen.getExpressionId(body) === binaryen.CallId) out.add(B.Call.getTarget(body));
  for (const slot of childSlots(body)) {
    const c = slot.get(body);
    if (c) callees(c, out);
  }
}

/** The runtime: every function reachable by direct calls from the runtime's exports. */
function runtimeFunctions(m: binaryen.Module, funcs: binaryen.FunctionRef[]): Set<string> {
  const byName = new Map(funcs.map((f) => [Fn.getName(f), f]));
  const seen = new Set<string>();
  const todo: string[] = [];
  for (let i = 0; i < m.getNumExports(); i++) {
    const e = binaryen.getExportInfo(m.getExportByIndex(i));
    if (e.kind === binaryen.ExternalFunction && RUNTIME_EXPORTS.includes(e.name)) todo.push(e.value);
  }
  while (todo.length) {
    const name = todo.pop()!;
    const f = byName.get(name);
    if (seen.has(name) || !f) continue;
    seen.add(name);
    const out = new Set<string>();
    callees(Fn.getBody(f), out);
    todo.push(...out);
  }
  return seen;
}

class FunctionRewriter {
  private temps = new Map<string, number>();
  private callsGuest = false;

  constructor(
    private m: binaryen.Module,
    private f: binaryen.FunctionRef,
    private imported: Set<string>,
    private readonly polls: boolean,
    private stats: RewriteStats,
  ) {}

  run(): void {
    const f = this.f;
    let body = this.visit(Fn.getBody(f), 0);
    if (this.polls && this.callsGuest) {
      body = this.m.block(null, [poll(this.m), body], binaryen.getExpressionType(body));
      this.stats.polls++;
    }
    Fn.setBody(f, body);
    this.stats.functions++;
  }

  private temp(depth: number, role: number, type: binaryen.Type): number {
    const key = `${depth}:${role}:${type}`;
    let index = this.temps.get(key);
    if (index === undefined) {
      index = B._BinaryenFunctionAddVar(this.f, type) as number;
      this.temps.set(key, index);
    }
    return index;
  }

  private visit(e: Ref, depth: number): Ref {
    const id = binaryen.getExpressionId(e);
    const childDepth = MEMORY_OPS.has(id) ? depth + 1 : depth;
    for (const slot of childSlots(e)) {
      const c = slot.get(e);
      if (!c) continue;
      const n = this.visit(c, childDepth);
      if (n !== c) slot.set(e, n);
    }
    switch (id) {
      case binaryen.CallId:
        if (!this.imported.has(B.Call.getTarget(e)) && !HELPERS.includes(B.Call.getTarget(e))) this.callsGuest = true;
        return e;
      case binaryen.CallIndirectId:
        this.callsGuest = true;
        return e;
      case binaryen.LoopId:
        if (this.polls) {
          const body = B.Loop.getBody(e);
          B.Loop.setBody(e, this.m.block(null, [poll(this.m), body], binaryen.getExpressionType(body)));
          this.stats.polls++;
        }
        return e;
    }
    if (!MEMORY_OPS.has(id)) return e;
    return this.guard(e, id, depth);
  }

  /** Wraps one memory access in its barriers. */
  private guard(e: Ref, id: number, depth: number): Ref {
    const m = this.m;
    // An access with an unreachable operand never executes: leave it.
    for (const slot of childSlots(e)) {
      const c = slot.get(e);
      if (c && binaryen.getExpressionType(c) === unreachable) return e;
    }
    const pre: Ref[] = [];
    const post: Ref[] = [];
    // Evaluate operands into temporaries, in order, and point the access at them.
    const locals = childSlots(e).map((slot, role) => {
      const c = slot.get(e);
      const type = binaryen.getExpressionType(c);
      const index = this.temp(depth, role, type);
      pre.push(m.local.set(index, c));
      slot.set(e, m.local.get(index, type));
      return index;
    });
    const addr = (offset: number) => {
      const p = m.local.get(locals[0], i32);
      return offset ? m.i32.add(p, m.i32.const(offset | 0)) : p;
    };
    const len = (role: number) => m.local.get(locals[role], i32);
    const call = (helper: string, a: Ref, n: Ref) => m.call(helper, [a, n], none);
    const k = (n: number) => m.i32.const(n);
    switch (id) {
      case binaryen.LoadId:
        pre.push(call(PB, addr(B.Load.getOffset(e)), k(B.Load.getBytes(e))));
        break;
      case binaryen.StoreId: {
        const off = B.Store.getOffset(e);
        const n = B.Store.getBytes(e);
        pre.push(call(PB, addr(off), k(n)));
        post.push(call(WB, addr(off), k(n)));
        break;
      }
      case binaryen.AtomicRMWId:
      case binaryen.AtomicCmpxchgId: {
        const cls = id === binaryen.AtomicRMWId ? B.AtomicRMW : B.AtomicCmpxchg;
        const off = cls.getOffset(e);
        const n = cls.getBytes(e);
        pre.push(call(PB, addr(off), k(n)));
        post.push(call(WB, addr(off), k(n)));
        break;
      }
      case binaryen.AtomicWaitId:
        pre.push(call(PB, addr(0), k(B.AtomicWait.getExpectedType(e) === binaryen.i64 ? 8 : 4)));
        break;
      case binaryen.SIMDLoadId:
        pre.push(call(PB, addr(B.SIMDLoad.getOffset(e)), k(simdLoadBytes(B.SIMDLoad.getOp(e)))));
        break;
      case binaryen.SIMDLoadStoreLaneId: {
        const off = B.SIMDLoadStoreLane.getOffset(e);
        const n = laneBytes(B.SIMDLoadStoreLane.getOp(e));
        pre.push(call(PB, addr(off), k(n)));
        if (B._BinaryenSIMDLoadStoreLaneIsStore(e)) post.push(call(WB, addr(off), k(n)));
        break;
      }
      case binaryen.MemoryFillId:
      case binaryen.MemoryInitId:
        pre.push(call(PBR, addr(0), len(2)));
        post.push(call(WBR, addr(0), len(2)));
        break;
      case binaryen.MemoryCopyId:
        pre.push(call(PBR, m.local.get(locals[1], i32), len(2)), call(PBR, addr(0), len(2)));
        post.push(call(WBR, addr(0), len(2)));
        break;
    }
    this.stats.accesses++;
    const type = binaryen.getExpressionType(e);
    if (post.length === 0) return m.block(null, [...pre, e], type);
    if (type === none) return m.block(null, [...pre, e, ...post], none);
    // an access with a result (atomic RMW): keep it while the write barrier runs
    const result = this.temp(depth, 9, type);
    return m.block(null, [...pre, m.local.set(result, e), ...post, m.local.get(result, type)], type);
  }
}

function simdLoadBytes(op: number): number {
  const b = binaryen as unknown as Record<string, number>;
  const table: Array<[string, number]> = [
    ["Load8SplatVec128", 1],
    ["Load16SplatVec128", 2],
    ["Load32SplatVec128", 4],
    ["Load64SplatVec128", 8],
    ["Load8x8SVec128", 8],
    ["Load8x8UVec128", 8],
    ["Load16x4SVec128", 8],
    ["Load16x4UVec128", 8],
    ["Load32x2SVec128", 8],
    ["Load32x2UVec128", 8],
    ["Load32ZeroVec128", 4],
    ["Load64ZeroVec128", 8],
  ];
  for (const [name, n] of table) if (b[name] === op) return n;
  return 16;
}

function laneBytes(op: number): number {
  const b = binaryen as unknown as Record<string, number>;
  if (op === b.Load8LaneVec128 || op === b.Store8LaneVec128) return 1;
  if (op === b.Load16LaneVec128 || op === b.Store16LaneVec128) return 2;
  if (op === b.Load32LaneVec128 || op === b.Store32LaneVec128) return 4;
  return 8;
}
