// How late the node's event loop runs: the longest delay of a timer (what
// Node's monitorEventLoopDelay histogram records) over the last few seconds.
// Every link, heartbeat and guest line of a node waits on this one loop, so a
// long delay here is a pause that every member and client of the node feels;
// `migrant nodes` shows it (LOOP), and the heartbeats carry it.

import { monitorEventLoopDelay, type IntervalHistogram } from "node:perf_hooks";

/** How many samples (one per heartbeat) the figure covers. */
const WINDOW = 10;

export class LoopDelay {
  private readonly histogram: IntervalHistogram = monitorEventLoopDelay({ resolution: 10 });
  private readonly recent: number[] = [];

  constructor() {
    this.histogram.enable();
  }

  /** Takes the longest delay since the last sample (ms), and returns the longest of the last WINDOW samples. */
  sample(): number {
    this.recent.push(this.histogram.max / 1e6);
    this.histogram.reset();
    if (this.recent.length > WINDOW) this.recent.shift();
    return this.worst();
  }

  /** The longest delay over the recent samples, ms. */
  worst(): number {
    return Math.round(Math.max(0, ...this.recent));
  }

  close(): void {
    this.histogram.disable();
  }
}
