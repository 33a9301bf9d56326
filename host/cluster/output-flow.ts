// Output flow control: a guest that prints faster than its readers read is
// paused, as a process writing into a full pipe is, and no line is dropped.
//
// The window. A guest's worker counts the lines it has handed to the node and
// the node has not taken yet (a word of the shared control region,
// CTRL_OUTPUT). At OUTPUT_WINDOW lines the guest's print blocks until the
// count falls below half of it (worker/guest-worker.ts); a freeze request
// ends the wait, the line being already out. The node takes a line (numbers
// it, keeps it for replay, prints it, sends it to the watchers) and gives its
// place in the window back at once (GuestProcess), unless a watcher is
// congested.
//
// Congestion. A watcher whose link holds more than WATCH_LIMIT bytes unsent
// (its client reads slowly, or its terminal does not read at all) holds the
// window: the lines keep going to it, but their places come back only once
// every watcher of the process is below the limit again. So the bytes a node
// holds for a slow reader are bounded by the limit plus one window.
//
// A reader that does not read at all is dropped after `readerTimeoutMs` of
// congestion: its link is closed (CLOSE_SLOW_READER), the client says which
// line to take up again from (`migrant attach PID --from SEQ`, from what the
// node's replay ring still keeps; it notes the lines it no longer does), and
// the guest runs on for its other readers. The node's own terminal is a
// reader too: while its stdout is full the guest waits for it (processes.ts).

import { CLOSE_SLOW_READER, type MessageLink } from "../net/link.js";
import { MiB } from "../text/size.js";
import type { Proc } from "./processes.js";

/** Unsent bytes on a watcher's link above which the guest's output waits. */
export const WATCH_LIMIT = 1 * MiB;
/** How often a held window looks at its watchers again. */
const POLL_MS = 20;

export class OutputFlow {
  /** per process held: the promise its window waits on */
  private readonly held = new Map<Proc, Promise<void>>();
  /** since when each congested watcher has been congested (performance.now()) */
  private readonly since = new WeakMap<MessageLink, number>();

  constructor(
    private readonly readerTimeoutMs: number,
    private readonly event: (line: string) => void,
  ) {}

  /** After a line went to `p`'s watchers: undefined (its place comes back now) or what its place waits for. */
  after(p: Proc): Promise<void> | undefined {
    const wait = this.held.get(p);
    if (wait) return wait;
    if (!this.congested(p)) return undefined;
    const held = this.until(p).finally(() => this.held.delete(p));
    this.held.set(p, held);
    return held;
  }

  private congested(p: Proc): boolean {
    let any = false;
    for (const w of p.watchers) {
      if (w.open && w.buffered > WATCH_LIMIT) {
        if (!this.since.has(w)) this.since.set(w, performance.now());
        any = true;
      } else this.since.delete(w);
    }
    return any;
  }

  /** Resolves once no watcher of `p` is congested (dropping those congested too long), or `p` has none left. */
  private async until(p: Proc): Promise<void> {
    while (this.congested(p)) {
      await new Promise((r) => setTimeout(r, POLL_MS));
      const now = performance.now();
      for (const w of p.watchers) {
        const t = this.since.get(w);
        if (t !== undefined && now - t > this.readerTimeoutMs) this.drop(p, w);
      }
    }
  }

  private drop(p: Proc, w: MessageLink): void {
    const pid = p.info.pid;
    p.watchers.delete(w);
    this.since.delete(w);
    const secs = Math.round(this.readerTimeoutMs / 1000);
    this.event(`dropped client ${w.peer}: it read none of ${pid}'s output for ${secs} s (it may attach again)`);
    w.close(CLOSE_SLOW_READER, `did not read ${pid}'s output for ${secs} s; \`migrant attach ${pid} --from N\` takes it up again`);
  }
}
