// Auto-converge: pre-copy slows a guest that dirties memory faster than the
// link carries it away, so that its rounds shrink and the stop-and-copy is
// short (QEMU's auto-converge does the same to a VM's vCPUs).
//
// When a round did not at least halve what is dirty (stop-rule.ts says
// "throttle"), the throttle steps up: the guest is paused at its safepoints
// for a share of every PERIOD_MS, first INITIAL, then each step halving what
// it may run, up to MAX. The pause is asked for through shared memory (a
// THROTTLE interrupt with its length) once a period, by the node's metronome
// thread (worker/metronome-thread.ts: this thread's timers would fire late
// while it sends pages); the guest's worker waits that long at its next
// safepoint, or less if a freeze comes (worker/guest-worker.ts). It applies only while
// pre-copy runs: the freeze for the stop-and-copy ends it, and so does a
// rollback, before the guest resumes. `--no-throttle` turns it off.
//
// What it cost is measured, not estimated: the guest's clock counts the time
// the throttle held it (worker/guest-clock.ts), which the statistics report
// (throttledMs) next to the highest share applied (throttlePct).

import { readClock } from "../../worker/guest-clock.js";
import type { Emigration } from "./emigration.js";
import { Beat } from "./metronome.js";

export const PERIOD_MS = 10;
export const INITIAL = 0.2;
export const MAX = 0.995;

export class Throttle {
  /** the share of each period the guest is paused now (0: not throttled) */
  share = 0;
  private beat: Beat | null = null;
  private startUs = 0;

  constructor(private readonly m: Emigration) {}

  /** Whether another step is possible (the option is on and the share below MAX). */
  get canStep(): boolean {
    return this.m.ctx.options.throttle && this.share < MAX;
  }

  /** Slows the guest one step more. */
  step(): void {
    if (!this.canStep) return;
    const memory = this.m.process.memory;
    if (!this.beat) {
      this.startUs = readClock(memory).throttledUs;
      this.beat = new Beat(memory);
    }
    this.share = this.share === 0 ? INITIAL : Math.min(MAX, 1 - (1 - this.share) / 2);
    this.beat.set(this.share, PERIOD_MS);
    this.m.stats.throttlePct = Math.round(this.share * 1000) / 10;
  }

  /** Ends the throttle (the guest is frozen, or about to resume after a rollback) and records what it took. */
  stop(): void {
    if (!this.beat) return;
    this.beat.clear();
    this.beat = null;
    try {
      const p = this.m.process;
      p.throttle(0);
      this.m.stats.throttledMs = Math.max(0, readClock(p.memory).throttledUs - this.startUs) / 1000;
    } catch {
      /* it ended meanwhile */
    }
  }
}
