// What a migration that fails leaves behind. Before the handover: the
// destination is told to give up (migAbort), and the process runs on here as
// if nothing happened: resumed if it was frozen, and back in the plain
// variant if pre-copy had switched it to tracking. After the handover the
// process is the destination's; the failure (a post-copy source that could
// not serve every page, say) is reported as such. In between (the handover
// sent, the destination's answer never heard, even when asked: handover.ts)
// the process is in doubt: it is let go here, never resumed, so that it runs
// at most once (there, if the destination got it).

import type { GuestProcess } from "../../process.js";
import { MigrationFailed, type Emigration } from "./emigration.js";
import { messageOf } from "../../text/thrown.js";

export async function rollback(m: Emigration, e: unknown): Promise<void> {
  const { stats } = m;
  m.throttle.stop(); // before the guest may run on here
  stats.result = e instanceof MigrationFailed && e.cancelled ? "cancelled" : "failed";
  stats.error = messageOf(e);
  if (m.handedOver) {
    stats.error = `after the handover: ${stats.error}`;
    return;
  }
  if (m.handoverSent) return inDoubt(m);
  m.link.send({ t: "migAbort", mid: m.ctx.mid, reason: stats.error });
  let p: GuestProcess | null = null;
  try {
    p = m.process;
  } catch {
    return; // it ended meanwhile: nothing to resume
  }
  if (p.frozenState) {
    if (p.variant === "plain") p.resume();
    else {
      const q = await p.switchVariant("plain");
      m.ctx.setProcess(q);
      stats.switchBackPauseMs = q.switchPauseMs;
    }
  } else if (p.running && p.variant !== "plain") {
    const q = await p.toVariant("plain").catch(() => p);
    if (q) m.ctx.setProcess(q);
    if (q && q !== p) stats.switchBackPauseMs = q.switchPauseMs; // p: the switch failed, and p's own figure is of its earlier switch
  }
}

async function inDoubt(m: Emigration): Promise<void> {
  const why = `in doubt after the handover: ${m.stats.error}; not resumed on ${m.ctx.from}, so that it never runs twice (it runs on ${m.ctx.to} if that node got the handover)`;
  m.stats.error = why;
  try {
    const p = m.process;
    if (p.frozenState) await p.release();
  } catch {
    /* it ended meanwhile */
  }
  m.ctx.onInDoubt(why);
}
