// The selection policy of the balancer: which process an overloaded node
// moves, and the chatty-pair rule.
//
// Load shed per cost. Among the node's processes that may move (past their
// residence time, not migrating), each would shed min(its share, the node's
// excess) of demand. Its cost grows with the bytes a move transfers: its
// memory, and, when its dirty rate is known, what it dirties over a second of
// pre-copy (sent again); a process that exchanges many messages with another
// on this node costs more in proportion (moving it would part them). The
// process with the most shed per cost goes; ties go to the lower pid.
//
// Chatty pairs. Two processes on different nodes that exchange at least
// CHATTY_RATE messages a second are brought together when load allows. Both
// nodes apply the same rule, so only one side moves: the node of the higher
// pid (pids compare by origin name, then counter) moves it to the lower
// pid's node if that node has room for it; else, if the higher pid's node has
// room for the lower one, the lower pid's node moves its process there. The
// mover waits for its residence time: the other side never moves instead.

import { counterOf, originOf } from "../messaging/addresses.js";
import type { ProcFigures } from "./information.js";
import { roomFor } from "./transfer.js";

/** Messages per second (both directions) at which two processes count as a chatty pair. */
export const CHATTY_RATE = 5;
/** Bytes that cost as much as one unit of load shed. */
const COST_BYTES = 64 * 1024 * 1024;
/** The size of a tracked page (the dirty rate is in pages per second). */
const PAGE_BYTES = 4096;

export interface Choice {
  pid: string;
  share: number;
  shed: number;
  cost: number;
}

/** What a move of `p` costs; `partnerRate`: messages/s it exchanges with processes on its node. */
export function cost(p: Pick<ProcFigures, "memory" | "dirtyRate">, partnerRate = 0): number {
  const bytes = p.memory + (p.dirtyRate ?? 0) * PAGE_BYTES;
  return (1 + bytes / COST_BYTES) * (1 + partnerRate / CHATTY_RATE);
}

/** The process to move off a node with this excess demand (null: none may move). `fits`: the destination takes that share. */
export function select(
  procs: ProcFigures[],
  excess: number,
  partnerRate: (pid: string) => number = () => 0,
  fits: (share: number) => boolean = () => true,
): Choice | null {
  let best: (Choice & { score: number }) | null = null;
  for (const p of procs) {
    if (!p.movable || !fits(p.share)) continue;
    const shed = Math.min(p.share, excess);
    const c = cost(p, partnerRate(p.pid));
    const score = shed / c;
    if (!best || score > best.score + 1e-12 || (Math.abs(score - best.score) <= 1e-12 && comparePids(p.pid, best.pid) < 0))
      best = { pid: p.pid, share: p.share, shed, cost: c, score };
  }
  return best && { pid: best.pid, share: best.share, shed: best.shed, cost: best.cost };
}

/** Orders pids by origin name, then counter. */
export function comparePids(a: string, b: string): number {
  const byOrigin = originOf(a).localeCompare(originOf(b));
  if (byOrigin) return byOrigin;
  const ka = counterOf(a);
  const kb = counterOf(b);
  return Number.isNaN(ka) || Number.isNaN(kb) ? a.localeCompare(b) : ka - kb;
}

/** One end of a chatty pair: the process, its node and that node's load. */
export interface PairEnd {
  pid: string;
  share: number;
  movable: boolean;
  node: string;
  load: { cpus: number; demand: number; busy: boolean };
}

export interface PairMove {
  pid: string;
  from: string;
  to: string;
}

/** The chatty-pair rule: which end moves where (null: neither, for now). */
export function pairMove(x: PairEnd, y: PairEnd, rate: number): PairMove | null {
  if (rate < CHATTY_RATE || x.node === y.node) return null;
  const [low, high] = comparePids(x.pid, y.pid) < 0 ? [x, y] : [y, x];
  const mover = roomFor(low.load, high.share) ? high : roomFor(high.load, low.share) ? low : null;
  if (!mover || !mover.movable) return null;
  const to = mover === high ? low : high;
  if (mover.load.busy || to.load.busy) return null;
  return { pid: mover.pid, from: mover.node, to: to.node };
}

/** "pair: A.1 and B.2 exchange 12.3 messages/s; B has room (demand 1.0 of 2)" */
export const pairReason = (pid: string, partner: string, rate: number, to: string, load: { cpus: number; demand: number }): string =>
  `pair: ${pid} and ${partner} exchange ${rate.toFixed(1)} messages/s; ${to} has room (demand ${load.demand.toFixed(1)} of ${load.cpus})`;
