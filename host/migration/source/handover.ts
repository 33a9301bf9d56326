// The end every strategy shares: the process frozen here, the destination told
// its execution state (migHandover: globals, the used Asyncify buffer, its
// output line count, its mailbox, the memory size, and which pages it does not
// have yet), the destination resuming it (migResumed), and this node letting
// it go. Messages for the process wait here from the freeze on and follow it
// once it runs there (cluster/messaging/post-office.ts); with forwarding by
// update, the handover also waits for the link holders' acknowledgements.
//
// stopAndCopy is the stop of total freezing and pre-copy: freeze, one last
// round with what is left, hand over with every page there.

import { verifyDigests } from "../verify.js";
import { memoryPages } from "../../memory/pages.js";
import type { FrozenState } from "../../worker/messages.js";
import { STEP_MS, type Emigration } from "./emigration.js";

/** Freezes, sends the pages `rest()` names then (one last round), and hands over with nothing absent. */
export async function stopAndCopy(m: Emigration, rest: () => number[]): Promise<void> {
  const state = await m.freeze();
  const pages = rest();
  m.stats.rounds++;
  m.stats.pagesPerRound.push(pages.length);
  await m.stream.send(pages, "stop-and-copy");
  await handover(m, state, []);
}

/** Hands over with `absent` pages and those of `range` left to post-copy; the downtime ends when the destination runs it. */
export async function handover(m: Emigration, state: FrozenState, absent: number[], range: [number, number] = [0, 0]): Promise<void> {
  const proc = m.process;
  const L = m.layout;
  const asyncify = new Uint8Array(proc.memory.buffer, L.asyncStart, state.asyncUsed).slice();
  // optional end-to-end check of every guest page (MIGRANT_VERIFY=1 on the source node)
  const verify = process.env.MIGRANT_VERIFY === "1" ? verifyDigests(new Uint8Array(proc.memory.buffer), L, absent, range) : null;
  await m.mailReady;
  m.link.send({
    t: "migHandover",
    mid: m.ctx.mid,
    state: { frozen: state, seq: m.ctx.seq(), verify, mail: m.ctx.mail.travelling(state.mail) },
    asyncify,
    memoryPages: memoryPages(proc.memory),
    absent: new Uint8Array(Uint32Array.from(absent).buffer),
    absentFrom: range[0],
    absentTo: range[1],
  });
  const r = await m.mailbox.next(["migResumed", "migRefuse"], STEP_MS);
  if (r.t === "migRefuse") m.refusedBy(r.reason, "could not resume the process");
  m.stats.downtimeMs = performance.now() - m.frozenAt;
  m.handedOver = true;
  await proc.release();
  m.ctx.onHandover();
}
