// Post-copy on the source, after the handover: the destination runs the
// process and asks for every page it touches before the page arrived
// (migFault). The source answers a fault as soon as it hears it, ahead of
// everything not yet sent. Between faults the background push (unless
// --no-push) sends the rest in small batches, one per turn of the event loop
// so that a fault heard meanwhile goes next, with at most PUSH_WINDOW_BYTES
// on their way: the destination acknowledges each batch it installed
// (migInstalled), and only then does the next one go. So a fault's answer
// never waits behind a backlog of pushed pages, not in this node's socket
// queue, not in the kernel's buffers and not in the destination's input: at
// most a window's worth is ahead of it. The loop is driven by those messages
// (no polling). It ends when the destination has every page (migDone, with
// its fault figures). The source must stay up until then. A migRefuse now
// means the destination stopped the process (a page came too late).

import { PUSH_PAGES, PUSH_WINDOW_BYTES } from "../batch.js";
import type { MessageOf } from "../../net/protocol.js";
import { STEP_MS, type Emigration } from "./emigration.js";
import { yieldToEvents } from "./stream.js";
import { FAULT_TIMES } from "../destination.js";

/** How long --no-push waits for the next fault: as long as the guest runs without touching a missing page. */
const NO_PUSH_WAIT_MS = 24 * 3600 * 1000;

export async function servePostCopy(m: Emigration, pages: number[]): Promise<void> {
  const done = await serve(m, pages);
  const { faults, faultP50Us, faultP99Us, faultTimesMs, faultLatenciesUs, switchBackPauseMs } = done.stats;
  // as many fault times as a destination keeps (FAULT_TIMES): the client's migResult stays small
  const first = <T>(xs: T[]) => xs.slice(0, FAULT_TIMES);
  Object.assign(m.stats, { faults, faultP50Us, faultP99Us, faultTimesMs: first(faultTimesMs), faultLatenciesUs: first(faultLatenciesUs) });
  m.stats.switchBackPauseMs = switchBackPauseMs ?? 0;
}

async function serve(m: Emigration, pages: number[]): Promise<MessageOf<"migDone">> {
  const pending = new Set(pages);
  const push = m.ctx.options.push;
  let next = 0;
  /** bytes sent and not yet acknowledged installed (an acknowledgement of more than was sent only empties it) */
  let onTheirWay = 0;
  for (;;) {
    // the destination stopped the process (a page it asked for came too late, a batch it could not use)
    for (const r of m.mailbox.take("migRefuse")) m.refusedBy(r.reason, "stopped the process");
    for (const a of m.mailbox.take("migInstalled")) onTheirWay = Math.max(0, onTheirWay - a.bytes);
    const faulted = m.mailbox
      .take("migFault")
      .map((f) => f.page)
      .filter((p) => pending.delete(p));
    if (faulted.length) onTheirWay += m.stream.ship(faulted);
    if (pending.size === 0) break;
    if (push && onTheirWay < PUSH_WINDOW_BYTES && next < pages.length) {
      const chunk: number[] = [];
      while (chunk.length < PUSH_PAGES && next < pages.length) {
        const p = pages[next++];
        if (pending.delete(p)) chunk.push(p);
      }
      if (chunk.length) onTheirWay += m.stream.ship(chunk);
      m.ctx.progress({
        phase: "post-copy push",
        round: m.stats.rounds,
        pagesLeft: pending.size,
        bytesSent: m.stats.bytesSent,
        mbps: m.stream.rate(),
      });
      await yieldToEvents(); // one batch a turn: a fault heard meanwhile goes next
      continue;
    }
    // the next acknowledgement, fault, refusal, or (no push) the end
    const e = await m.mailbox.next(["migInstalled", "migFault", "migDone", "migRefuse"], push ? STEP_MS : NO_PUSH_WAIT_MS);
    if (e.t === "migDone") return e;
    m.mailbox.deliver(e);
  }
  const end = await m.mailbox.next(["migDone", "migRefuse"], STEP_MS);
  return end.t === "migDone" ? end : m.refusedBy(end.reason, "stopped the process");
}
