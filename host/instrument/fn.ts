// Typed names for the parts of binaryen.js the instrumenter uses that its
// typings leave out or declare elsewhere: the Function helpers (at run time
// `binaryen.Function`), the getters and setters of the expression classes
// (`binaryen.Store.getOffset`, `binaryen.Loop.setBody`, ...), and two C API
// functions.

import binaryen from "binaryen";

export interface FunctionHelpers {
  getName(f: binaryen.FunctionRef): string;
  getNumLocals(f: binaryen.FunctionRef): number;
  getBody(f: binaryen.FunctionRef): binaryen.ExpressionRef;
  setBody(f: binaryen.FunctionRef, body: binaryen.ExpressionRef): void;
}

export const Fn = (binaryen as unknown as { Function: FunctionHelpers }).Function;

type Ref = binaryen.ExpressionRef;

/** An expression class, its accessors by name: getters return a child or a number, setters take one. */
export type ExpressionClass = Record<string, (e: Ref, ...rest: number[]) => number>;

/** binaryen.js's expression classes by name (binaryen.Block, binaryen.Store, ...). */
export const ExpressionClasses = binaryen as unknown as Record<string, ExpressionClass>;

/** What the rewriter reads and writes of particular expressions. */
export const Expr = binaryen as unknown as {
  Call: { getTarget(e: Ref): string };
  Loop: { getBody(e: Ref): Ref; setBody(e: Ref, body: Ref): void };
  _BinaryenFunctionAddVar(f: binaryen.FunctionRef, type: binaryen.Type): number;
  _BinaryenSIMDLoadStoreLaneIsStore(e: Ref): number;
} & Record<"Load" | "Store" | "AtomicRMW" | "AtomicCmpxchg" | "AtomicWait" | "SIMDLoad" | "SIMDLoadStoreLane", ExpressionClass>;
