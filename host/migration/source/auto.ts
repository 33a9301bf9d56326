// `--strategy auto`: the source chooses the strategy for this process, from
// what it is and what the link does, by predicting each strategy's downtime
// and the progress its guest would lose, and taking the least loss.
//
// What it knows: the guest's non-zero memory (a scan), the link rate (what the
// last migration to that node achieved, or DEFAULT_LINK_MBPS), and, unless the
// memory is so small that a total freeze is over within FREEZE_UP_TO_MS, the
// guest's dirty rate: the process is switched to the tracking variant (pre-copy
// and hybrid begin so anyway) and its dirty map read after SAMPLE_MS.
//
// The predictions (choose(), a pure function), with M the memory, D the dirty
// rate, R the link rate, F the handover's fixed cost and S a variant switch's
// pause:
//   freeze    downtime F + M/R; the guest loses all of it
//   postcopy  downtime F; then it waits on faults while M comes, at about
//             half the rate (the push window, the faults between): ~ 1.5 M/R,
//             and a switch back (S)
//   precopy   converges by itself when D < R/2: downtime F + what fits
//             --max-downtime; else only by the throttle, which holds the
//             guest a share 1 - R/2D of a few rounds of what it dirties in one
//             (W = min(M, D M/R)): ~ 3 W/R; and a switch to tracking (S)
//   hybrid    one round, then the handover with W absent: downtime F, lost
//             ~ 1.5 W/R while W comes, and two switches (2 S)
// A guest that runs while its pages are sent shares the machine's cores with
// the two nodes sending and taking them: CONTENTION of every round's time is
// lost too (on 2 cores, about a third). They are rough on purpose: the
// benchmark prints each prediction next to what happened, and the statistics
// keep it (MigrationStats.auto).

import type { AutoChoice, Strategy } from "../options.js";
import type { Emigration } from "./emigration.js";
import { countDirty, switchToTracking } from "./tracking.js";

/** A total freeze over within this is not worth a switch to tracking (a pause of its own). */
export const FREEZE_UP_TO_MS = 5;
/** How long the guest is watched in the tracking variant for its dirty rate. */
export const SAMPLE_MS = 100;
/** The link rate assumed to a node not migrated to yet, MB/s. */
export const DEFAULT_LINK_MBPS = 300;
/** What a handover with nothing to send still costs, and the switch to tracking's pause (both measured here: 1.5-3 ms). */
const FIXED_MS = 2.5;
const SWITCH_MS = 3;
/** The share of a round's time a running guest loses to the nodes moving its pages (2 cores, both nodes here). */
const CONTENTION = 0.3;
/** Post-copy's time to bring pages in, over the time to send them (the window, and the faults between). */
const POSTCOPY_SLOWER = 1.5;

export interface Figures {
  memoryBytes: number;
  /** MB/s the guest dirties, or null before it was measured */
  dirtyMBps: number | null;
  linkMBps: number;
  maxDowntimeMs: number;
}

/** The choice, or "measure" when it depends on the dirty rate and that is not known yet. */
export function choose(f: Figures): AutoChoice | "measure" {
  const R = Math.max(f.linkMBps, 1e-3) / 1000; // MB per ms
  const M = f.memoryBytes / 1e6;
  const whole = M / R;
  const base = { memoryBytes: f.memoryBytes, dirtyMBps: f.dirtyMBps, linkMBps: f.linkMBps };
  if (whole <= FREEZE_UP_TO_MS) {
    const t = FIXED_MS + whole;
    return {
      ...base,
      chose: "freeze",
      reason: `${figure(M)} MB go in ${figure(whole)} ms: a total freeze is shortest`,
      predictedDowntimeMs: t,
      predictedLostMs: t,
    };
  }
  if (f.dirtyMBps === null) return "measure";
  const D = f.dirtyMBps / 1000;
  const W = Math.min(M, D * whole); // dirtied during one round of everything
  const rounds = CONTENTION * whole; // what a guest running through one round of everything loses
  const pre = SWITCH_MS + FIXED_MS + f.maxDowntimeMs + rounds;
  const options: Array<{ chose: Strategy; downtime: number; lost: number; why: string }> = [
    { chose: "freeze", downtime: FIXED_MS + whole, lost: FIXED_MS + whole, why: `all ${figure(M)} MB in the downtime` },
    {
      chose: "postcopy",
      downtime: FIXED_MS,
      lost: FIXED_MS + SWITCH_MS + POSTCOPY_SLOWER * whole,
      why: `faults while ${figure(M)} MB come`,
    },
    D < R / 2
      ? {
          chose: "precopy",
          downtime: FIXED_MS + f.maxDowntimeMs,
          // the rounds shrink by D/R each: all of them together last whole / (1 - D/R)
          lost: pre + rounds * (D / R / (1 - D / R)),
          why: "the rounds shrink by themselves",
        }
      : {
          chose: "precopy",
          downtime: FIXED_MS + f.maxDowntimeMs,
          lost: pre + (1 - R / (2 * D)) * 3 * (W / R),
          why: `the throttle holds the guest to converge on ${figure(W)} MB a round`,
        },
    {
      chose: "hybrid",
      downtime: FIXED_MS,
      lost: 2 * SWITCH_MS + FIXED_MS + rounds + POSTCOPY_SLOWER * (W / R),
      why: `faults while the ${figure(W)} MB one round leaves dirty come`,
    },
  ];
  options.sort((a, b) => a.lost - b.lost || a.downtime - b.downtime);
  const best = options[0];
  const next = options[1];
  return {
    ...base,
    chose: best.chose,
    reason: `dirties ${figure(f.dirtyMBps)} MB/s against a ${figure(f.linkMBps)} MB/s link: ${best.why} (${figure(best.lost)} ms lost; ${next.chose} ${figure(next.lost)} ms)`,
    predictedDowntimeMs: best.downtime,
    predictedLostMs: best.lost,
  };
}

/** A figure as the reason prints it (MB, MB/s, ms): whole from 10 up, one decimal below. */
const figure = (n: number) => (n >= 10 ? n.toFixed(0) : n.toFixed(1));

/** Chooses for this migration (measuring the dirty rate in the tracking variant if it must) and records the choice. */
export async function chooseStrategy(m: Emigration, linkMBps: number): Promise<Strategy> {
  const figures: Figures = {
    memoryBytes: m.nonZeroBytes(),
    dirtyMBps: null,
    linkMBps,
    maxDowntimeMs: m.ctx.options.maxDowntimeMs,
  };
  let c = choose(figures);
  if (c === "measure") {
    await switchToTracking(m);
    m.enter("auto: dirty rate");
    const t = performance.now();
    await new Promise((r) => setTimeout(r, SAMPLE_MS));
    m.checkCancelled();
    const dirty = countDirty(m) * m.layout.pageSize;
    m.process.dirtyMap().fill(0); // round 1 sends every non-zero page as it is from now on
    c = choose({ ...figures, dirtyMBps: dirty / 1e6 / ((performance.now() - t) / 1000) }) as AutoChoice;
  }
  m.stats.auto = c;
  m.stats.strategy = c.chose;
  return c.chose;
}
