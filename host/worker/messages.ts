// What a guest worker and the node's main thread say to each other.

import { count, either, nullable, number, object, oneOf, record, string, type Shape } from "../net/shape.js";
import type { MessagePort } from "node:worker_threads";
import type { Layout } from "../memory/layout.js";
import type { Variant } from "../instrument/variants.js";

/** A global's value as it crosses threads and files (i64 as a decimal string; NaN, +-Infinity and -0 by name). */
export type GlobalValue = number | string;

/**
 * Where a guest stands in its message traffic (kept by its worker; the node's
 * copy of the mailbox is reconciled with it at every freeze).
 */
export interface MailCursor {
  /** index of the last message the guest received (messages are numbered from 1 per process) */
  received: number;
  /** number of the last send that completed (sends are numbered from 1 per process) */
  sent: number;
  /** pid of the sender of the last message received ("" before the first) */
  sender: string;
}

export const NO_MAIL: MailCursor = { received: 0, sent: 0, sender: "" };

const I32 = 2 ** 31;
const I64 = 2n ** 63n;
/** The float values JSON cannot carry, saved by name. */
export const FLOAT_NAMES: GlobalValue[] = ["NaN", "Infinity", "-Infinity", "-0"];
/** An i64 as the worker saves it: a decimal string. */
export const I64_TEXT = /^-?\d{1,20}$/;

/** Whether `v` is a value a global of this type can have, as the worker saves it (i64 a decimal string; NaN, +-Infinity, -0 by name). */
export function globalValueFits(type: "i32" | "i64" | "f32" | "f64", v: GlobalValue): boolean {
  switch (type) {
    case "i32":
      return typeof v === "number" && Number.isInteger(v) && v >= -I32 && v < I32;
    case "i64":
      return typeof v === "string" && I64_TEXT.test(v) && BigInt(v) >= -I64 && BigInt(v) < I64;
    case "f32":
      return typeof v === "number" ? Math.fround(v) === v : FLOAT_NAMES.includes(v);
    case "f64":
      return typeof v === "number" || FLOAT_NAMES.includes(v);
  }
}

/** The execution state a frozen guest leaves besides its memory. */
export interface FrozenState {
  /** the export the guest was in: top-level initialisation or main */
  phase: "start" | "main";
  /** exported mutable globals by export name */
  globals: Record<string, GlobalValue>;
  /** bytes of the Asyncify buffer in use */
  asyncUsed: number;
  /** remaining milliseconds of the sleep or recv it was frozen in (-1: a recv without a timeout), or null */
  sleepRemaining: number | null;
  mail: MailCursor;
}

/** The shape a FrozenState received from elsewhere (a migration's handover) is checked against. */
export const FROZEN_STATE: Shape<FrozenState> = object({
  phase: oneOf(["start", "main"] as const),
  globals: record(either(number(), string, "a number or a decimal string")),
  asyncUsed: count,
  sleepRemaining: nullable(number({ min: -1 })),
  mail: object({ received: count, sent: count, sender: string }),
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
  /**
   * The module's active data segments are empty (Image.resumingModule):
   * instantiating it writes nothing to memory, so a warm worker instantiates
   * at once, whatever its memory holds, and `go` costs no instantiation.
   */
  emptyData: boolean;
  /** the node's side of the process's messages: ToInbox arrives here, read synchronously while the guest waits */
  inbox: MessagePort;
}

/** What the node puts in a worker's inbox port (the worker reads it with receiveMessageOnPort while it waits). */
export type ToInbox =
  /** message number i of this process (the worker ignores any it has received or queued already) */
  | { t: "msg"; i: number; from: string; data: Uint8Array }
  /** send number n completed: delivered (ok) or refused */
  | { t: "sent"; n: number; ok: boolean }
  | { t: "answer"; id: number; value: string | boolean | null };

/** The guest's requests that the node answers through the inbox (register, whereis). */
export type CallOp = "register" | "whereis";

export type FromWorker =
  | { t: "out"; line: string }
  /** the guest unwound; `at`: when it stopped, its unwind began (epoch ms, the clock every node on a machine shares) */
  | { t: "frozen"; state: FrozenState; at: number }
  | { t: "overflow"; needed: number; capacity: number; kept: boolean }
  | { t: "fault"; page: number }
  | { t: "exit"; code: number; error: string | null; runMs: number }
  | { t: "ready" }
  /** the answer to `prime`: the warm worker's message path has run once */
  | { t: "primed" }
  /** the guest is about to run again (epoch ms, as `frozen`'s at: the pause the guest sees is the difference) */
  | { t: "resumed"; at: number }
  /** send number n (one at a time: the guest waits for its `sent`) */
  | { t: "send"; n: number; to: string; data: Uint8Array }
  /** the guest received message i: the node may drop it from the mailbox */
  | { t: "took"; i: number }
  | { t: "call"; id: number; op: CallOp; arg: string };

/** prime: one message before `go`, so that go is not a worker's first (a first message takes 1.5-2 ms to arrive, later ones 0.2). */
export type ToWorker = { t: "continue" } | { t: "stop" } | { t: "prime" } | { t: "go"; state: FrozenState };
