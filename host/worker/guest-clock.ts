// The guest's clock, kept by its worker in the shared clock words
// (memory/layout.ts, CLOCK): how long the guest waited and how long its node
// held it, so that the node can tell what a process asks of the CPU without
// asking the worker.
//
// A guest wants the CPU whenever it is not waiting: sleeping, in recv, in a
// send until it is delivered, in a print while its output window is full, or
// for a page (post-copy). Every such wait goes through `waiting`, which adds
// its length to the waited total when it ends and, while it lasts, shows when
// it began; a node reading the words mid-wait counts the wait up to now. A
// hold (the node's CPU share pausing the guest at a safepoint) is recorded
// the same way in its own pair of words: held time is time the guest wanted
// to run and did not.
//
// The worker's thread CPU time would not do: on a machine with fewer cores
// than busy guests each gets a fraction of a core, yet each wants a whole one.

import { CLOCK, CLOCK_HELD, CLOCK_HOLD_BEGAN, CLOCK_THROTTLED, CLOCK_WAIT_BEGAN, CLOCK_WAITED, CLOCK_WORDS } from "../memory/layout.js";

/**
 * Milliseconds on the clock every thread and process of this machine shares:
 * performance.timeOrigin is each one's start on the epoch, so two nodes on one
 * machine can subtract each other's readings (a guest's pause across a move).
 */
export function epochMs(): number {
  return performance.timeOrigin + performance.now();
}

/** Microseconds on that clock. */
export function nowUs(): bigint {
  return BigInt(Math.round(epochMs() * 1000));
}

export class GuestClock {
  private readonly words: BigInt64Array;
  private depth = 0;

  constructor(memory: WebAssembly.Memory) {
    this.words = new BigInt64Array(memory.buffer, CLOCK, CLOCK_WORDS);
  }

  /** Runs a wait (nested waits count once). */
  waiting<T>(wait: () => T): T {
    return this.span(CLOCK_WAITED, CLOCK_WAIT_BEGAN, wait);
  }

  /** Runs a hold. */
  holding<T>(hold: () => T): T {
    return this.span(CLOCK_HELD, CLOCK_HOLD_BEGAN, hold);
  }

  /** Runs a throttle's pause: a hold, also counted as the throttle's. */
  throttled(pause: () => void): void {
    const t0 = nowUs();
    this.holding(pause);
    Atomics.add(this.words, CLOCK_THROTTLED, nowUs() - t0);
  }

  private span<T>(total: number, began: number, f: () => T): T {
    if (this.depth++ > 0) {
      try {
        return f();
      } finally {
        this.depth--;
      }
    }
    const t0 = nowUs();
    Atomics.store(this.words, began, t0);
    try {
      return f();
    } finally {
      this.depth--;
      Atomics.add(this.words, total, nowUs() - t0);
      Atomics.store(this.words, began, 0n);
    }
  }
}

/** What a node reads of a guest's clock: microseconds waited and held so far, counting a wait or hold under way up to now. */
export function readClock(memory: WebAssembly.Memory): { waitedUs: number; heldUs: number; throttledUs: number } {
  const w = new BigInt64Array(memory.buffer, CLOCK, CLOCK_WORDS);
  const now = nowUs();
  const upToNow = (total: number, began: number) => {
    const b = Atomics.load(w, began);
    return Number(Atomics.load(w, total) + (b > 0n && now > b ? now - b : 0n));
  };
  return {
    waitedUs: upToNow(CLOCK_WAITED, CLOCK_WAIT_BEGAN),
    heldUs: upToNow(CLOCK_HELD, CLOCK_HOLD_BEGAN),
    throttledUs: Number(Atomics.load(w, CLOCK_THROTTLED)),
  };
}
