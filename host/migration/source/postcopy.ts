// Post-copy on the source, after the handover: the destination runs the
// process and asks for every page it touches before the page arrived
// (migFault). Faulted pages go first, each time round; between them the
// background push (unless --no-push) sends the rest in small batches, keeping
// little queued on the link (PUSH_QUEUE_BYTES) so that a fault's answer waits
// behind little. It ends when the destination has every page (migDone, with
// its fault figures). The source must stay up until then. A migRefuse now
// means the destination stopped the process (a page came too late).

import { PUSH_PAGES, PUSH_QUEUE_BYTES } from "../batch.js";
import type { MessageOf } from "../../net/protocol.js";
import { STEP_MS, type Emigration } from "./emigration.js";
import { FAULT_TIMES } from "../destination.js";

/** How long --no-push waits for the next fault: as long as the guest runs without touching a missing page. */
const NO_PUSH_WAIT_MS = 24 * 3600 * 1000;

export async function servePostCopy(m: Emigration, pages: number[]): Promise<void> {
  const done = await serve(m, pages);
  const { faults, faultP50Us, faultP99Us, faultTimesMs, switchBackPauseMs } = done.stats;
  // as many fault times as a destination keeps (FAULT_TIMES): the client's migResult stays small
  Object.assign(m.stats, { faults, faultP50Us, faultP99Us, faultTimesMs: faultTimesMs.slice(0, FAULT_TIMES) });
  m.stats.switchBackPauseMs = switchBackPauseMs ?? 0;
}

async function serve(m: Emigration, pages: number[]): Promise<MessageOf<"migDone">> {
  const pending = new Set(pages);
  let next = 0;
  for (;;) {
    // the destination stopped the process (a page it asked for came too late, a batch it could not use)
    for (const r of m.mailbox.take("migRefuse")) m.refusedBy(r.reason, "stopped the process");
    const faulted = m.mailbox
      .take("migFault")
      .map((f) => f.page)
      .filter((p) => pending.delete(p));
    if (faulted.length) m.stream.ship(faulted);
    if (pending.size === 0) break;
    if (m.ctx.options.push) {
      const chunk: number[] = [];
      while (chunk.length < PUSH_PAGES && next < pages.length) {
        const p = pages[next++];
        if (pending.delete(p)) chunk.push(p);
      }
      if (chunk.length) {
        m.stream.ship(chunk);
        await m.stream.drained(PUSH_QUEUE_BYTES);
        m.ctx.progress({
          phase: "post-copy push",
          round: m.stats.rounds,
          pagesLeft: pending.size,
          bytesSent: m.stats.bytesSent,
          mbps: m.stream.rate(),
        });
      }
      await new Promise((r) => setImmediate(r)); // let fault requests overtake
    } else {
      const f = await m.mailbox.next(["migFault", "migDone", "migRefuse"], NO_PUSH_WAIT_MS);
      if (f.t === "migDone") return f;
      m.mailbox.deliver(f); // a fault (served above), or a refusal (thrown above)
    }
  }
  const end = await m.mailbox.next(["migDone", "migRefuse"], STEP_MS);
  return end.t === "migDone" ? end : m.refusedBy(end.reason, "stopped the process");
}
