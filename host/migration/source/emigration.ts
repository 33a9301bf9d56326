// One migration as its source node runs it: what the phases (setup.ts,
// tracking.ts, rounds.ts, handover.ts, postcopy.ts, rollback.ts; emigrate.ts
// puts them in order) share. It holds the node's side of the process (the
// context), the statistics being filled in, the page stream to the
// destination, and two facts every phase needs: when the process was frozen
// for the last time (the downtime starts there), and whether the destination
// runs it yet (after the handover there is nothing to roll back).

import type { MessageLink } from "../../net/link.js";
import type { Image } from "../../image.js";
import type { GuestProcess } from "../../process.js";
import type { FrozenState, MailCursor } from "../../worker/messages.js";
import type { MailState } from "../../messaging/process-mail.js";
import type { Layout } from "../../memory/layout.js";
import { guestPages, splitZero } from "../../memory/pages.js";
import { MigrantError } from "../../errors.js";
import type { Mailbox } from "../mailbox.js";
import type { MigrationOptions, MigrationStats, Progress } from "../options.js";
import type { ProcessDescription } from "../payloads.js";
import { PageStream } from "./stream.js";
import { Throttle } from "./throttle.js";

/** A migration that did not happen; the process stays (or is put back) on the source. */
export class MigrationFailed extends MigrantError {
  constructor(
    message: string,
    readonly cancelled = false,
  ) {
    super(message);
  }
}

/**
 * The handover was sent and the destination's answer never came (or the link
 * closed): the process may run there. It is not resumed here, so that two
 * copies never run; the destination runs it if it got the handover.
 */
export class MigrationInDoubt extends MigrationFailed {}

/** What the source node gives a migration: the link, the process, and how to report. */
export interface EmigrationContext {
  mid: number;
  link: MessageLink;
  /** the messages of this migration from the destination (the node routes them here by mid) */
  mailbox: Mailbox;
  pid: string;
  module: string;
  image: Image;
  /** what the destination needs to list the process (the strategy is added from the options) */
  info: Omit<ProcessDescription, "strategy">;
  from: string;
  to: string;
  options: MigrationOptions;
  /** the process's worker now (it changes at a variant switch) */
  getProcess(): GuestProcess;
  /** a variant switch made `p` the process's worker */
  setProcess(p: GuestProcess): void;
  /** output lines so far (the destination numbers on from there) */
  seq(): number;
  /** the destination runs the process now: move it in the node's table */
  onHandover(): void;
  /** the handover was sent and not answered: the frozen process is let go here (it may run there) */
  onInDoubt(reason: string): void;
  /** the process's messages (cluster/messaging/post-office.ts) */
  mail: {
    /** it is frozen for the handover: hold its messages; resolves when it may resume at the destination */
    leaving(): Promise<void>;
    /** its mailbox as it travels, reconciled with what the frozen guest has taken */
    travelling(cursor: MailCursor): MailState;
  };
  progress(p: Progress): void;
  /** what the last migration from this node to the destination achieved, MB/s (auto's link rate), if any */
  linkMBps?: number;
  cancelled(): boolean;
  /** test hook: corrupt the data of this batch (1-based) after its checksum */
  corruptBatch?: number;
}

export { STEP_MS } from "../timeouts.js";

export class Emigration {
  readonly stats: MigrationStats;
  readonly stream: PageStream;
  /** pre-copy's auto-converge */
  readonly throttle: Throttle;
  readonly layout: Layout;
  readonly startedAt = performance.now();
  /** when the process was frozen for the handover (the downtime starts here) */
  frozenAt = 0;
  /** the destination runs the process: nothing to roll back any more */
  handedOver = false;
  /** migHandover has left: until the destination refuses, this node must not resume the process */
  handoverSent = false;
  /** since the freeze for the handover: resolves when the process may resume at the destination (forwarding by update) */
  mailReady: Promise<void> = Promise.resolve();

  constructor(readonly ctx: EmigrationContext) {
    this.layout = ctx.image.layout;
    this.stats = {
      pid: ctx.pid,
      from: ctx.from,
      to: ctx.to,
      strategy: ctx.options.strategy === "auto" ? "precopy" : ctx.options.strategy, // auto: until it has chosen
      auto: null,
      result: "completed",
      error: null,
      totalMs: 0,
      setupMs: 0,
      downtimeMs: 0,
      handoverMs: 0,
      switchPauseMs: 0,
      switchMs: 0,
      switchBackPauseMs: 0,
      pausesMs: 0,
      rounds: 0,
      pagesPerRound: [],
      pagesSent: 0,
      zeroPagesSkipped: 0,
      bytesSent: 0,
      rawBytes: 0,
      deltaPages: 0,
      mbps: 0,
      dirtyRate: 0,
      throttlePct: 0,
      throttledMs: 0,
      faults: 0,
      faultP50Us: 0,
      faultP99Us: 0,
      faultTimesMs: [],
      faultLatenciesUs: [],
      phases: [],
    };
    this.stream = new PageStream(this);
    this.throttle = new Throttle(this);
  }

  get link(): MessageLink {
    return this.ctx.link;
  }

  get mailbox(): Mailbox {
    return this.ctx.mailbox;
  }

  get process(): GuestProcess {
    return this.ctx.getProcess();
  }

  /** Ends the step under way and begins `name` (the statistics' timeline). */
  enter(name: string): void {
    const t = performance.now() - this.startedAt;
    const open = this.stats.phases[this.stats.phases.length - 1];
    if (open) open.endMs = t;
    this.stats.phases.push({ name, startMs: t, endMs: t });
  }

  /** Fails the migration if it was cancelled and it is not too late. */
  checkCancelled(): void {
    if (!this.handedOver && this.ctx.cancelled()) throw new MigrationFailed("cancelled", true);
  }

  /** Fails the migration with the destination's reason. */
  refusedBy(reason: string, what = "aborted the migration"): never {
    throw new MigrationFailed(`node ${this.ctx.to} ${what}: ${reason}`);
  }

  /** Freezes the process for the handover; the downtime starts now. */
  async freeze(): Promise<FrozenState> {
    this.enter("freeze");
    const s = await this.process.freeze();
    this.throttle.stop();
    if (!s) throw new MigrationFailed("the process ended before it could move");
    this.frozenAt = performance.now();
    this.mailReady = this.ctx.mail.leaving();
    return s;
  }

  /** The tracked page just past the guest's memory. */
  get guestEnd(): number {
    return this.process.memory.buffer.byteLength / this.layout.pageSize;
  }

  /** The first tracked page of the guest's memory. */
  get guestStart(): number {
    return this.layout.base / this.layout.pageSize;
  }

  /** Every guest page, now. */
  allGuestPages(): number[] {
    return guestPages(this.process.memory, this.layout);
  }

  /** The guest pages that are not all zero, now (the others are counted as skipped: they are not sent). */
  nonZeroPages(): number[] {
    const { zero, data } = this.splitGuest();
    this.stats.zeroPagesSkipped += zero.length;
    return data;
  }

  /** How many bytes of the guest's memory are in pages that are not all zero, now (nothing is counted: auto.ts only looks). */
  nonZeroBytes(): number {
    return this.splitGuest().data.length * this.layout.pageSize;
  }

  private splitGuest() {
    return splitZero(new Uint8Array(this.process.memory.buffer), this.allGuestPages(), this.layout.pageSize);
  }

  /** The statistics, complete. */
  finish(): MigrationStats {
    this.throttle.stop();
    this.stats.totalMs = performance.now() - this.startedAt;
    const s = this.stats;
    const open = s.phases[s.phases.length - 1];
    if (open) open.endMs = s.totalMs;
    const ms = (x: number) => Math.round(x * 100) / 100;
    s.phases = s.phases.map((p) => ({ name: p.name, startMs: ms(p.startMs), endMs: ms(p.endMs) }));
    s.pausesMs = s.downtimeMs + s.switchPauseMs + s.switchBackPauseMs;
    this.stats.mbps = this.stream.rate();
    return this.stats;
  }
}
