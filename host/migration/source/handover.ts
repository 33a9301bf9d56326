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
import { MigrationFailed, MigrationInDoubt, STEP_MS, type Emigration } from "./emigration.js";
import { MailboxTimeout } from "../mailbox.js";
import type { MessageOf } from "../../net/protocol.js";
import { messageOf } from "../../text/thrown.js";
import { epochMs } from "../../worker/guest-clock.js";
import type { GuestProcess } from "../../process.js";

/** Freezes, sends the pages `rest()` names then (one last round), and hands over with nothing absent. */
export async function stopAndCopy(m: Emigration, rest: () => number[]): Promise<void> {
  const state = await m.freeze();
  m.enter("stop-and-copy");
  const pages = rest();
  m.stats.rounds++;
  m.stats.pagesPerRound.push(pages.length);
  await m.stream.send(pages, "stop-and-copy");
  await handover(m, state, []);
}

/** Hands over with `absent` pages and those of `range` left to post-copy; the downtime ends when the destination runs it. */
export async function handover(m: Emigration, state: FrozenState, absent: number[], range: [number, number] = [0, 0]): Promise<void> {
  m.enter("handover");
  const proc = m.process;
  const L = m.layout;
  const asyncify = new Uint8Array(proc.memory.buffer, L.asyncStart, state.asyncUsed).slice();
  // optional end-to-end check of every guest page (MIGRANT_VERIFY=1 on the source node)
  const verify = process.env.MIGRANT_VERIFY === "1" ? verifyDigests(new Uint8Array(proc.memory.buffer), L, absent, range) : null;
  await m.mailReady;
  // a link that closed during the copy took nothing: the destination never had the process, so it is this node's still
  if (!m.link.open) throw new MigrationFailed(`the link to node ${m.ctx.to} closed before the handover`);
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
  m.handoverSent = true;
  const r = await resumedThere(m);
  if (r.t === "migRefuse") {
    m.handoverSent = false; // it does not run there, and never will: it is this node's again
    m.refusedBy(r.reason, "could not resume the process");
  }
  m.stats.handoverMs = performance.now() - m.frozenAt;
  m.stats.downtimeMs = guestPause(proc, r.at, m.stats.handoverMs);
  m.handedOver = true;
  m.enter("let go"); // the guest runs there: this node ends its worker and moves the process in its table
  await proc.release();
  m.ctx.onHandover();
}

/**
 * The guest's pause from its stop here to its first instruction there (`at`,
 * the destination's clock). A time outside [the stop, now] is not this
 * machine's clock (the destination runs elsewhere, or says nonsense): the
 * source's own figure stands in for it.
 */
function guestPause(proc: GuestProcess, at: number, handoverMs: number): number {
  const pause = proc.pauseUntil(at);
  return Number.isFinite(pause) && pause >= 0 && pause <= proc.pauseUntil(epochMs()) ? pause : handoverMs;
}

/**
 * The destination's answer to the handover. If none comes within STEP_MS the
 * source asks, once, with migAbort: the destination answers migResumed if the
 * guest runs there (or is about to), else migRefuse, and then never runs it.
 * No answer to that either (or the link closes): the process is in doubt, and
 * this node does not resume it (MigrationInDoubt): two copies must never run.
 * The common path costs nothing: the question is asked only after a timeout.
 */
async function resumedThere(m: Emigration): Promise<MessageOf<"migResumed" | "migRefuse">> {
  const answer = ["migResumed", "migRefuse"] as const;
  const to = m.ctx.to;
  try {
    return await m.mailbox.next([...answer], STEP_MS);
  } catch (e) {
    if (!m.link.open || !(e instanceof MailboxTimeout))
      throw new MigrationInDoubt(`the link to node ${to} closed after the handover (${messageOf(e)})`);
  }
  m.link.send({ t: "migAbort", mid: m.ctx.mid, reason: `no migResumed within ${STEP_MS} ms of the handover: does the process run there?` });
  try {
    return await m.mailbox.next([...answer], STEP_MS);
  } catch (e) {
    throw new MigrationInDoubt(`node ${to} did not say whether it runs the process (${messageOf(e)})`);
  }
}
