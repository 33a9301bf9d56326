// What a migration is asked to do, and what it reports (like QEMU's `info
// migrate`): the types, their defaults, and the shapes (net/shape.ts) that a
// received copy is checked against, each typed by its interface.

import { amount, array, boolean, count, nullable, number, object, oneOf, optional, string, type Shape } from "../net/shape.js";

export const STRATEGIES = ["freeze", "precopy", "postcopy", "hybrid"] as const;
export type Strategy = (typeof STRATEGIES)[number];
/** What a migration may be asked for: a strategy, or `auto` (the source chooses one: migration/source/auto.ts). */
export const REQUESTABLE = [...STRATEGIES, "auto"] as const;
export type RequestedStrategy = (typeof REQUESTABLE)[number];

export interface MigrationOptions {
  strategy: RequestedStrategy;
  /** pre-copy stops its rounds when what is left fits this at the measured bandwidth */
  maxDowntimeMs: number;
  maxRounds: number;
  /** cap on the page stream, megabytes per second (null: as fast as the link goes) */
  bandwidthMBps: number | null;
  /** post-copy: push the pages nobody faulted on, in the background */
  push: boolean;
  /** pre-copy: slow a guest whose rounds do not shrink (auto-converge) */
  throttle: boolean;
  /** pack page batches: deflated, and pages sent again as deltas (migration/compress.ts) */
  compress: boolean;
}

export const DEFAULT_OPTIONS: MigrationOptions = {
  strategy: "precopy",
  maxDowntimeMs: 2,
  maxRounds: 30,
  bandwidthMBps: null,
  push: true,
  throttle: true,
  compress: false,
};

/** The options a client asks for, the defaults filling in what it left out. */
export function withDefaults(asked: Partial<MigrationOptions>): MigrationOptions {
  const given = Object.entries(asked).filter(([, v]) => v !== undefined);
  return { ...DEFAULT_OPTIONS, ...Object.fromEntries(given) };
}

export type MigrationResult = "completed" | "cancelled" | "failed";

/** What `--strategy auto` chose, why, and what it predicted (the statistics then say what happened). */
export interface AutoChoice {
  chose: Strategy;
  reason: string;
  predictedDowntimeMs: number;
  predictedLostMs: number;
  /** what it measured: the guest's non-zero memory, its dirty rate, and the link rate it assumed */
  memoryBytes: number;
  dirtyMBps: number | null;
  linkMBps: number;
}

/** One step of a migration on the source's clock, ms after it began there (the benchmark's timeline). */
export interface Phase {
  name: string;
  startMs: number;
  endMs: number;
}

export interface MigrationStats {
  pid: string;
  from: string;
  to: string;
  /** the strategy that ran (with auto: the one chosen) */
  strategy: Strategy;
  /** --strategy auto: its choice; null when a strategy was asked for */
  auto: AutoChoice | null;
  result: MigrationResult;
  error: string | null;
  totalMs: number;
  setupMs: number;
  /**
   * The pause the guest saw at the handover: its last instruction on the
   * source to its first on the destination, on the clock the nodes of one
   * machine share (performance.timeOrigin + now). A destination whose clock
   * is not this machine's (its time is before the stop, or after the answer
   * came) gets handoverMs here instead.
   */
  downtimeMs: number;
  /** the source's view of the same: its freeze resolved -> migResumed heard here (one clock; a link latency in it) */
  handoverMs: number;
  /** pre-copy and hybrid: the guest's pause at the switch to the dirty-tracking variant (0 without one) */
  switchPauseMs: number;
  /** the whole switch to tracking: warming the new worker while the guest still runs, and the pause */
  switchMs: number;
  /** the guest's pause at the switch back to plain (post-copy's destination once every page is there, a failed pre-copy's source), 0 without one */
  switchBackPauseMs: number;
  /** every pause the guest saw: downtime + switchPauseMs + switchBackPauseMs */
  pausesMs: number;
  rounds: number;
  pagesPerRound: number[];
  pagesSent: number;
  zeroPagesSkipped: number;
  /** page data on the wire (with the indices) */
  bytesSent: number;
  /** what bytesSent would have been without --compress (equal to it without) */
  rawBytes: number;
  /** --compress: pages sent as a delta against the copy sent before */
  deltaPages: number;
  mbps: number;
  /** pages dirtied per second during the last pre-copy round */
  dirtyRate: number;
  /** pre-copy's auto-converge: the highest share of the time the guest was paused (percent, 0: never throttled) */
  throttlePct: number;
  /** how long the throttle held the guest, ms: the progress it cost */
  throttledMs: number;
  faults: number;
  faultP50Us: number;
  faultP99Us: number;
  /** when the destination asked for each faulted page, ms after the guest resumed there (at most 20000) */
  faultTimesMs: number[];
  /** each post-copy fault's latency, us (at most 20000; the benchmark's CDF) */
  faultLatenciesUs: number[];
  /** the source's steps one after the other: setup, switch to tracking, round n, freeze, stop-and-copy, handover, let go, post-copy, rollback */
  phases: Phase[];
}

export interface Progress {
  phase: string;
  round: number;
  pagesLeft: number;
  bytesSent: number;
  mbps: number;
}

export const MIGRATION_REQUEST: Shape<Partial<MigrationOptions>> = object({
  strategy: optional(oneOf(REQUESTABLE)),
  maxDowntimeMs: optional(amount),
  maxRounds: optional(number({ int: true, min: 1 })),
  bandwidthMBps: optional(nullable(number({ above: 0 }))),
  push: optional(boolean),
  throttle: optional(boolean),
  compress: optional(boolean),
});

export const MIGRATION_STATS: Shape<MigrationStats> = object({
  pid: string,
  from: string,
  to: string,
  strategy: oneOf(STRATEGIES),
  auto: nullable(
    object({
      chose: oneOf(STRATEGIES),
      reason: string,
      predictedDowntimeMs: amount,
      predictedLostMs: amount,
      memoryBytes: count,
      dirtyMBps: nullable(amount),
      linkMBps: amount,
    }),
  ),
  result: oneOf(["completed", "cancelled", "failed"] as const),
  error: nullable(string),
  totalMs: amount,
  setupMs: amount,
  downtimeMs: amount,
  handoverMs: amount,
  switchPauseMs: amount,
  switchMs: amount,
  switchBackPauseMs: amount,
  pausesMs: amount,
  rounds: count,
  pagesPerRound: array(count),
  pagesSent: count,
  zeroPagesSkipped: count,
  bytesSent: count,
  rawBytes: count,
  deltaPages: count,
  mbps: amount,
  dirtyRate: amount,
  throttlePct: amount,
  throttledMs: amount,
  faults: count,
  faultP50Us: amount,
  faultP99Us: amount,
  faultTimesMs: array(number()),
  faultLatenciesUs: array(amount),
  phases: array(object({ name: string, startMs: amount, endMs: amount })),
});

export const PROGRESS: Shape<Progress> = object({
  phase: string,
  round: count,
  pagesLeft: number({ int: true }),
  bytesSent: count,
  mbps: amount,
});
