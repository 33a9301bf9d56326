// The child slots of every Binaryen expression kind the instrumenter may meet.
//
// binaryen.js has no generic "visit children" API: each expression class has
// its own getters and setters (Store.getPtr / Store.setPtr, Block.getChildAt,
// ...). This table names them once per kind, so that the rewriter can walk a
// function body bottom-up and put a rewritten child back in its place.
// A kind not listed here with children (GC, strings, stack switching: features
// asc does not emit for us) makes the walk fail loudly rather than skip code.

import binaryen from "binaryen";
import { ExpressionClasses as B } from "./fn.js";

type Ref = number;
interface Slot {
  get(e: Ref): Ref;
  set(e: Ref, c: Ref): void;
}

function slots(cls: string, ...names: string[]): Slot[] {
  const c = B[cls];
  return names.map((n) => ({ get: (e: Ref) => c[`get${n}`](e), set: (e: Ref, v: Ref) => c[`set${n}`](e, v) }));
}

function listed(cls: string, count: string, at: string): (e: Ref) => Slot[] {
  const c = B[cls];
  return (e) => {
    const n: number = c[`getNum${count}`](e);
    const out: Slot[] = [];
    for (let i = 0; i < n; i++) {
      out.push({ get: (x) => c[`get${at}At`](x, i), set: (x, v) => c[`set${at}At`](x, i, v) });
    }
    return out;
  };
}

const fixed = new Map<number, Slot[]>([
  [binaryen.IfId, slots("If", "Condition", "IfTrue", "IfFalse")],
  [binaryen.LoopId, slots("Loop", "Body")],
  [binaryen.BreakId, slots("Break", "Value", "Condition")],
  [binaryen.SwitchId, slots("Switch", "Value", "Condition")],
  [binaryen.LocalSetId, slots("LocalSet", "Value")],
  [binaryen.GlobalSetId, slots("GlobalSet", "Value")],
  [binaryen.LoadId, slots("Load", "Ptr")],
  [binaryen.StoreId, slots("Store", "Ptr", "Value")],
  [binaryen.UnaryId, slots("Unary", "Value")],
  [binaryen.BinaryId, slots("Binary", "Left", "Right")],
  [binaryen.SelectId, slots("Select", "IfTrue", "IfFalse", "Condition")],
  [binaryen.DropId, slots("Drop", "Value")],
  [binaryen.ReturnId, slots("Return", "Value")],
  [binaryen.MemoryGrowId, slots("MemoryGrow", "Delta")],
  [binaryen.AtomicRMWId, slots("AtomicRMW", "Ptr", "Value")],
  [binaryen.AtomicCmpxchgId, slots("AtomicCmpxchg", "Ptr", "Expected", "Replacement")],
  [binaryen.AtomicWaitId, slots("AtomicWait", "Ptr", "Expected", "Timeout")],
  [binaryen.AtomicNotifyId, slots("AtomicNotify", "Ptr", "NotifyCount")],
  [binaryen.SIMDExtractId, slots("SIMDExtract", "Vec")],
  [binaryen.SIMDReplaceId, slots("SIMDReplace", "Vec", "Value")],
  [binaryen.SIMDShuffleId, slots("SIMDShuffle", "Left", "Right")],
  [binaryen.SIMDTernaryId, slots("SIMDTernary", "A", "B", "C")],
  [binaryen.SIMDShiftId, slots("SIMDShift", "Vec", "Shift")],
  [binaryen.SIMDLoadId, slots("SIMDLoad", "Ptr")],
  [binaryen.SIMDLoadStoreLaneId, slots("SIMDLoadStoreLane", "Ptr", "Vec")],
  [binaryen.MemoryInitId, slots("MemoryInit", "Dest", "Offset", "Size")],
  [binaryen.MemoryCopyId, slots("MemoryCopy", "Dest", "Source", "Size")],
  [binaryen.MemoryFillId, slots("MemoryFill", "Dest", "Value", "Size")],
  [binaryen.TupleExtractId, slots("TupleExtract", "Tuple")],
  [binaryen.RefIsNullId, slots("RefIsNull", "Value")],
  [binaryen.RefAsId, slots("RefAs", "Value")],
  [binaryen.TableSetId, slots("TableSet", "Index", "Value")],
  [binaryen.TableGrowId, slots("TableGrow", "Value", "Delta")],
  [binaryen.TableGetId, slots("TableGet", "Index")],
]);

const leaves = new Set<number>([
  binaryen.NopId,
  binaryen.ConstId,
  binaryen.LocalGetId,
  binaryen.GlobalGetId,
  binaryen.MemorySizeId,
  binaryen.UnreachableId,
  binaryen.AtomicFenceId,
  binaryen.DataDropId,
  binaryen.RefNullId,
  binaryen.RefFuncId,
  binaryen.TableSizeId,
  binaryen.PopId,
  binaryen.RethrowId,
]);

const blockChildren = listed("Block", "Children", "Child");
const callOperands = listed("Call", "Operands", "Operand");
const indirectOperands = listed("CallIndirect", "Operands", "Operand");
const tupleOperands = listed("TupleMake", "Operands", "Operand");
const throwOperands = listed("Throw", "Operands", "Operand");
const [indirectTarget] = slots("CallIndirect", "Target");

/** The child slots of expression `e` (those that hold an expression, possibly 0). */
export function childSlots(e: Ref): Slot[] {
  const id = binaryen.getExpressionId(e);
  const f = fixed.get(id);
  if (f) return f;
  if (leaves.has(id)) return [];
  switch (id) {
    case binaryen.BlockId:
      return blockChildren(e);
    case binaryen.CallId:
      return callOperands(e);
    case binaryen.CallIndirectId:
      return [...indirectOperands(e), indirectTarget];
    case binaryen.TupleMakeId:
      return tupleOperands(e);
    case binaryen.ThrowId:
      return throwOperands(e);
    case binaryen.TryId: {
      const T = B.Try;
      const out: Slot[] = [{ get: (x) => T.getBody(x), set: (x, v) => T.setBody(x, v) }];
      const n: number = T.getNumCatchBodies(e);
      for (let i = 0; i < n; i++) out.push({ get: (x) => T.getCatchBodyAt(x, i), set: (x, v) => T.setCatchBodyAt(x, i, v) });
      return out;
    }
  }
  throw new Error(`instrumenter: expression kind ${id} is not supported (a Wasm feature asc does not emit for migrant guests)`);
}
