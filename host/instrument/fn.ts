// binaryen.js's Function helpers exist at run time as `binaryen.Function`, but
// its typings declare them elsewhere; this gives them one typed name.

import binaryen from "binaryen";

export interface FunctionHelpers {
  getName(f: binaryen.FunctionRef): string;
  getNumLocals(f: binaryen.FunctionRef): number;
  getBody(f: binaryen.FunctionRef): binaryen.ExpressionRef;
  setBody(f: binaryen.FunctionRef, body: binaryen.ExpressionRef): void;
}

export const Fn = (binaryen as unknown as { Function: FunctionHelpers }).Function;
