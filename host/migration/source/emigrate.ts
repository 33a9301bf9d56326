// The source side of a live migration: each strategy as its phases in order.
//
// Every strategy begins with setup (the destination accepts and warms a
// worker) and ends with the same handover: the process frozen here, the
// destination holding every page it needs (or knowing where to fetch it), the
// destination resuming, and this node letting go.
//
//   freeze    stop-and-copy: freeze, send every non-zero page, hand over.
//   precopy   switch to the dirty-tracking variant, then rounds while it runs
//             (round 1 every non-zero page, each next round the pages dirtied
//             during the previous one) until the stop rule says stop; then
//             stop-and-copy with the pages still dirty.
//   postcopy  freeze and hand over at once with every guest page absent;
//             then serve the destination's faults and push the rest.
//   hybrid    pre-copy rounds, then freeze and hand over with the pages still
//             dirty absent, served as in post-copy.
//   auto      one of these, chosen for this process first (auto.ts).
//
// Every batch carries a CRC-32 (batch.ts); the destination aborts on a
// mismatch. Anything that fails before the handover is rolled back: the
// process runs on here as if nothing happened (rollback.ts). docs/DESIGN.md
// shows each strategy as a sequence of messages.

import type { MigrationStats, Strategy } from "../options.js";
import { Emigration, type EmigrationContext } from "./emigration.js";
import { handover, stopAndCopy } from "./handover.js";
import { servePostCopy } from "./postcopy.js";
import { rollback } from "./rollback.js";
import { preCopyRounds } from "./rounds.js";
import { setup } from "./setup.js";
import { chooseStrategy, DEFAULT_LINK_MBPS } from "./auto.js";
import { switchToTracking, takeDirty } from "./tracking.js";

export { MigrationFailed, type EmigrationContext } from "./emigration.js";

/** Each strategy after setup, up to and including the handover; it returns the pages left to post-copy. */
const STRATEGY: Record<Strategy, (m: Emigration) => Promise<number[]>> = {
  freeze: async (m) => {
    await stopAndCopy(m, () => m.nonZeroPages());
    return [];
  },
  precopy: async (m) => {
    await switchToTracking(m);
    await preCopyRounds(m);
    await stopAndCopy(m, () => takeDirty(m));
    return [];
  },
  postcopy: async (m) => {
    // handed over with every guest page absent, as a range: no list and no
    // scan in the downtime (zero pages go later, as indices only)
    const state = await m.freeze();
    await handover(m, state, [], [m.guestStart, m.guestEnd]);
    return m.allGuestPages();
  },
  hybrid: async (m) => {
    await switchToTracking(m);
    await preCopyRounds(m);
    const state = await m.freeze();
    const rest = takeDirty(m);
    await handover(m, state, rest);
    return rest;
  },
};

export async function emigrate(ctx: EmigrationContext): Promise<MigrationStats> {
  const m = new Emigration(ctx);
  try {
    if (ctx.options.strategy === "auto") m.enter("auto: choose");
    const strategy = ctx.options.strategy === "auto" ? await chooseStrategy(m, ctx.linkMBps ?? DEFAULT_LINK_MBPS) : ctx.options.strategy;
    m.enter("setup");
    await setup(m);
    const absent = await STRATEGY[strategy](m);
    // post-copy's destination (hybrid's too, even with nothing absent) ends with migDone, once back in plain
    if (strategy === "postcopy" || strategy === "hybrid") {
      m.enter("post-copy: faults and push");
      await servePostCopy(m, absent);
    }
  } catch (e) {
    m.enter("rollback");
    await rollback(m, e);
  }
  return m.finish();
}
