// When pre-copy stops its rounds and freezes for the stop-and-copy: one pure
// function of the last round's figures and the options, so that the rule lives
// in one place (and each outcome has its unit test).
//
//   fits           what is dirty now would go within --max-downtime at the
//                  bandwidth the round achieved: stop, the stop will be short
//   throttle       the round did not halve what is dirty, and the guest can
//                  be slowed more (auto-converge, throttle.ts): slow it, and
//                  go on
//   not-shrinking  as many pages are dirty now as the round sent: more rounds
//                  would not get ahead of the guest
//   round-cap      --max-rounds rounds are done
//   continue       none of these: send the dirty pages in another round

import type { MigrationOptions } from "../options.js";

export interface RoundFigures {
  /** rounds done so far, this one included */
  round: number;
  /** pages this round sent */
  pagesSent: number;
  /** pages dirty at its end (what the next round, or the stop, would send) */
  dirtyLeft: number;
  /** bytes per second the round achieved, to the destination's installing them */
  bytesPerSecond: number;
  pageSize: number;
  /** the throttle can slow the guest one step more (it is on, and below its maximum) */
  canThrottle?: boolean;
}

export type StopReason = "fits" | "not-shrinking" | "round-cap";
export type StopDecision = StopReason | "throttle" | "continue";

export function stopRule(r: RoundFigures, o: Pick<MigrationOptions, "maxDowntimeMs" | "maxRounds">): StopDecision {
  const stopSeconds = (r.dirtyLeft * r.pageSize) / Math.max(r.bytesPerSecond, 1);
  if (stopSeconds <= o.maxDowntimeMs / 1000) return "fits";
  if (r.round >= o.maxRounds) return "round-cap";
  if (r.canThrottle && 2 * r.dirtyLeft > r.pagesSent) return "throttle";
  if (r.dirtyLeft >= r.pagesSent) return "not-shrinking";
  return "continue";
}
