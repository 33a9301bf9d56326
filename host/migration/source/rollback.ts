// What a migration that fails leaves behind. Before the handover: the
// destination is told to give up (migAbort), and the process runs on here as
// if nothing happened: resumed if it was frozen, and back in the plain
// variant if pre-copy had switched it to tracking. After the handover the
// process is the destination's; the failure (a post-copy source that could
// not serve every page, say) is reported as such.

import type { GuestProcess } from "../../process.js";
import { MigrationFailed, type Emigration } from "./emigration.js";

export async function rollback(m: Emigration, e: unknown): Promise<void> {
  const { stats } = m;
  stats.result = e instanceof MigrationFailed && e.cancelled ? "cancelled" : "failed";
  stats.error = (e as Error).message;
  if (m.handedOver) {
    stats.error = `after the handover: ${stats.error}`;
    return;
  }
  m.link.send({ t: "migAbort", mid: m.ctx.mid, reason: stats.error });
  let p: GuestProcess | null = null;
  try {
    p = m.process;
  } catch {
    return; // it ended meanwhile: nothing to resume
  }
  if (p.frozenState) {
    if (p.variant === "plain") p.resume();
    else m.ctx.setProcess(await p.switchVariant("plain"));
  } else if (p.running && p.variant !== "plain") {
    const q = await p.toVariant("plain").catch(() => p);
    if (q) m.ctx.setProcess(q);
  }
}
