// What the two sides of a migration tell each other inside their messages
// (see net/messages.ts): the process's description at `migBegin`, its
// execution state at `migHandover`, and the post-copy fault report at
// `migDone`. Each shape (net/shape.ts) is typed by its interface.

import { amount, array, count, nullable, number, object, oneOf, record, string, type Shape } from "../net/shape.js";
import { FROZEN_STATE, type FrozenState } from "../worker/messages.js";
import { STRATEGIES, type Strategy } from "./options.js";
import { MAIL_STATE, type MailState } from "../messaging/process-mail.js";

/** What the destination needs to check, place and list the process (sent with migBegin). */
export interface ProcessDescription {
  args: string[];
  module: string;
  /** wall clock when it first started (epoch ms) */
  startedAt: number;
  /** how many times it has moved before this migration */
  migrations: number;
  uptimeMs: number;
  /** its linear memory now, in Wasm pages */
  memoryPages: number;
  strategy: Strategy;
  /**
   * its registered name when the migration began: the destination answers for it while the process
   * arrives (the source answers for it until the handover; one registered meanwhile travels in its mailbox)
   */
  name: string | null;
}

/** The process's state besides its memory (sent with migHandover). */
export interface HandoverState {
  frozen: FrozenState;
  /** output lines so far: the destination numbers on from here */
  seq: number;
  /** MIGRANT_VERIFY=1 on the source: CRC-32 of every page the destination should hold, by page index */
  verify: Record<string, number> | null;
  /** its mailbox: the messages not received yet, what it accepted from whom, its send under way */
  mail: MailState;
}

/** What the destination measured of post-copy faults (sent with migDone). */
export interface FaultReport {
  faults: number;
  faultP50Us: number;
  faultP99Us: number;
  faultTimesMs: number[];
  /** each fault's latency (asked -> installed), us, in the order they were answered (the first FAULT_TIMES) */
  faultLatenciesUs: number[];
  /** the guest's pause at the switch back to plain once every page was here (ms), or null if it did not switch */
  switchBackPauseMs: number | null;
}

export const PROCESS_DESCRIPTION: Shape<ProcessDescription> = object({
  args: array(string),
  module: string,
  startedAt: number(),
  migrations: count,
  uptimeMs: amount,
  memoryPages: count,
  strategy: oneOf(STRATEGIES),
  name: nullable(string),
});

export const HANDOVER_STATE: Shape<HandoverState> = object({
  frozen: FROZEN_STATE,
  seq: count,
  verify: nullable(record(number())),
  mail: MAIL_STATE,
});

export const FAULT_REPORT: Shape<FaultReport> = object({
  faults: count,
  faultP50Us: amount,
  faultP99Us: amount,
  faultTimesMs: array(number()),
  faultLatenciesUs: array(amount),
  switchBackPauseMs: nullable(amount),
});
