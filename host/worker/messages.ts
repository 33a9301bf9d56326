// What a guest worker and the node's main thread say to each other.

import { count, either, nullable, number, object, oneOf, record, string, type Shape } from "../net/shape.js";
import type { Layout } from "../memory/layout.js";
import type { Variant } from "../instrument/variants.js";

/** A global's value as it crosses threads and files (i64 as a decimal string; NaN, +-Infinity and -0 by name). */
export type GlobalValue = number | string;

/** The execution state a frozen guest leaves besides its memory. */
export interface FrozenState {
  /** the export the guest was in: top-level initialisation or main */
  phase: "start" | "main";
  /** exported mutable globals by export name */
  globals: Record<string, GlobalValue>;
  /** bytes of the Asyncify buffer in use */
  asyncUsed: number;
  /** remaining milliseconds of the sleep it was frozen in, or null */
  sleepRemaining: number | null;
}

/** The shape a FrozenState received from elsewhere (a migration's handover) is checked against. */
export const FROZEN_STATE: Shape<FrozenState> = object({
  phase: oneOf(["start", "main"] as const),
  globals: record(either(number(), string, "a number or a decimal string")),
  asyncUsed: count,
  sleepRemaining: nullable(number()),
});

export interface WorkerInit {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  layout: Layout;
  /** null for an uninstrumented build (baseline of the overhead benchmark) */
  variant: Variant | null;
  pid: string;
  node: string;
  args: string[];
  /**
   * "later": a warm worker that resumes a frozen process when told `go`.
   * "fresh": the same, on a new memory that nobody writes until it is ready:
   * it instantiates at once (then clears what the data segments wrote, so
   * that only the pages that arrive count), and `go` costs no instantiation.
   */
  restore: "later" | "fresh" | null;
}

export type FromWorker =
  | { t: "out"; line: string }
  | { t: "frozen"; state: FrozenState }
  | { t: "overflow"; needed: number; capacity: number; kept: boolean }
  | { t: "fault"; page: number }
  | { t: "exit"; code: number; error: string | null; runMs: number }
  | { t: "ready" }
  /** the guest is about to run again (epoch ms, for downtime) */
  | { t: "resumed"; at: number };

export type ToWorker = { t: "continue" } | { t: "stop" } | { t: "go"; state: FrozenState };
