// What a migration is asked to do, and what it reports (like QEMU's `info migrate`).

export type Strategy = "freeze" | "precopy" | "postcopy" | "hybrid";
export const STRATEGIES: Strategy[] = ["freeze", "precopy", "postcopy", "hybrid"];

export interface MigrationOptions {
  strategy: Strategy;
  /** pre-copy stops its rounds when what is left fits this at the measured bandwidth */
  maxDowntimeMs: number;
  maxRounds: number;
  /** cap on the page stream, megabytes per second (null: as fast as the link goes) */
  bandwidthMBps: number | null;
  /** post-copy: push the pages nobody faulted on, in the background */
  push: boolean;
}

export const DEFAULT_OPTIONS: MigrationOptions = {
  strategy: "precopy",
  maxDowntimeMs: 2,
  maxRounds: 30,
  bandwidthMBps: null,
  push: true,
};

export interface MigrationStats {
  pid: string;
  from: string;
  to: string;
  strategy: Strategy;
  result: "completed" | "cancelled" | "failed";
  error: string | null;
  totalMs: number;
  setupMs: number;
  /** source frozen -> destination running */
  downtimeMs: number;
  /** pre-copy's switch to the dirty-tracking variant (a freeze and a resume on the source) */
  switchPauseMs: number;
  rounds: number;
  pagesPerRound: number[];
  pagesSent: number;
  zeroPagesSkipped: number;
  bytesSent: number;
  mbps: number;
  /** pages dirtied per second during the last pre-copy round */
  dirtyRate: number;
  faults: number;
  faultP50Us: number;
  faultP99Us: number;
  /** when the destination asked for each faulted page, ms after the guest resumed there (at most 20000) */
  faultTimesMs: number[];
}

export interface Progress {
  phase: string;
  round: number;
  pagesLeft: number;
  bytesSent: number;
  mbps: number;
}
