// Pre-copy's switch to the dirty-tracking variant, and the dirty map.
//
// The process moves to the `track` variant (a write barrier after every
// store) at one short freeze; the warm worker is started before the freeze, so
// the pause is the freeze and a rewind (GuestProcess.toVariant). The dirty map
// is cleared while the process is frozen: from the switch on, every write
// marks its page, and round 1's scan and copies come after that.
//
// takeDirty clears each dirty byte *before* its page is copied: a write that
// races the copy marks the page again (the barrier marks after the store), so
// the page goes again in the next round or the stop-and-copy.

import { MigrationFailed, type Emigration } from "./emigration.js";

export async function switchToTracking(m: Emigration): Promise<void> {
  if (m.process.variant === "track") return; // switched already (auto, to measure its dirty rate)
  m.enter("switch to tracking");
  const t = performance.now();
  const tracking = await m.process.toVariant("track", () => m.process.dirtyMap().fill(0));
  if (!tracking) throw new MigrationFailed("the process ended before it could move");
  m.ctx.setProcess(tracking);
  m.stats.switchMs = performance.now() - t;
  m.stats.switchPauseMs = tracking.switchPauseMs;
}

/** The dirty guest pages, each dirty byte cleared (before the page is copied). */
export function takeDirty(m: Emigration): number[] {
  const dirty = m.process.dirtyMap();
  const out: number[] = [];
  for (let p = m.guestStart, end = m.guestEnd; p < end; p++) {
    if (dirty[p]) {
      dirty[p] = 0;
      out.push(p);
    }
  }
  return out;
}

/** How many guest pages are dirty now. */
export function countDirty(m: Emigration): number {
  const dirty = m.process.dirtyMap();
  let n = 0;
  for (let p = m.guestStart, end = m.guestEnd; p < end; p++) n += dirty[p];
  return n;
}
