// The balancer's dry-run (`migrant balance --dry-run`): the moves the
// balancer would make now, worked out from one node's view of the cluster
// (its own figures, and the members' last heartbeats): nothing is probed and
// nothing moves. It applies the same policies as the live balancer, in its
// order: chatty pairs first, then each overloaded node (the most overloaded
// first) sheds its best process to the node with the most room (a sender's
// move; in receiver mode, only to a node with room for a whole process,
// which is the one that would ask). Each planned move takes both nodes' slot,
// as a real one would: at most one move per node. With the balancer off it
// says what a symmetric one would do.

import { object, string, type Shape } from "../net/shape.js";
import type { NodeFigures } from "./information.js";
import { bestDestination } from "./location.js";
import { pairMove, pairReason, select, CHATTY_RATE } from "./selection.js";
import { excess, overFigures, overloaded, roomFigures, roomForOne, type BalanceMode } from "./transfer.js";

export interface PlannedMove {
  pid: string;
  from: string;
  to: string;
  reason: string;
}

export const PLANNED_MOVE: Shape<PlannedMove> = object({ pid: string, from: string, to: string, reason: string });

interface Planned {
  moves: PlannedMove[];
  /** when there are none: why not */
  why: string;
}

const procsOf = (n: NodeFigures) => ({ ...n, procs: n.procs.length });

/** The moves a balancer of `mode` (off: symmetric) would make now, over these nodes and the pairs they reported. */
export function plan(
  nodes: NodeFigures[],
  pairs: Array<{ a: string; b: string; rate: number }>,
  mode: BalanceMode,
  threshold: number,
): Planned {
  const copy = nodes.map((n) => ({ ...n, procs: [...n.procs] }));
  const moves: PlannedMove[] = [];
  const apply = (pid: string, from: NodeFigures, to: NodeFigures, reason: string) => {
    const i = from.procs.findIndex((p) => p.pid === pid);
    const [p] = from.procs.splice(i, 1);
    to.procs.push({ ...p, movable: false });
    from.demand -= p.share;
    to.demand += p.share;
    from.busy = to.busy = true;
    moves.push({ pid, from: from.name, to: to.name, reason });
  };
  const end = (pid: string) => {
    const node = copy.find((n) => n.procs.some((p) => p.pid === pid));
    const p = node?.procs.find((x) => x.pid === pid);
    return node && p ? { pid, share: p.share, movable: p.movable, node: node.name, load: node, at: node } : null;
  };
  const waiting: string[] = [];
  for (const r of dedupe(pairs)) {
    const [x, y] = [end(r.a), end(r.b)];
    if (!x || !y || r.rate < CHATTY_RATE || x.node === y.node) continue;
    const m = pairMove(x, y, r.rate);
    if (!m) {
      waiting.push(`${r.a} and ${r.b} exchange ${r.rate.toFixed(1)} messages/s but stay apart for now (residence time, no room, or busy)`);
      continue;
    }
    const [from, to] = m.from === x.node ? [x.at, y.at] : [y.at, x.at];
    const partner = m.pid === x.pid ? y.pid : x.pid;
    apply(m.pid, from, to, pairReason(m.pid, partner, r.rate, to.name, to));
  }
  const kind = mode === "receiver" ? "receiver" : "sender";
  const over = copy.filter((n) => overloaded(procsOf(n), threshold)).sort((a, b) => excess(procsOf(b)) - excess(procsOf(a)));
  for (const n of over) {
    if (n.busy) continue;
    const others = copy.filter((o) => o !== n && (kind === "sender" || roomForOne(o)));
    const choice = select(
      n.procs,
      excess(procsOf(n)),
      () => 0,
      (s) => bestDestination(others, s) !== null,
    );
    if (!choice) continue;
    const to = bestDestination(others, choice.share)!;
    const here = overFigures(procsOf(n), threshold);
    const reason =
      kind === "sender"
        ? `sender: ${here}; ${to.name} has room (${roomFigures(to)})`
        : `receiver: ${to.name} has room (${roomFigures(to)}) and asked; ${here} here`;
    apply(choice.pid, n, to, reason);
  }
  return { moves, why: moves.length ? "" : [whyNot(copy, over, threshold), ...waiting].join("; ") };
}

/** Why nothing would move. */
function whyNot(nodes: NodeFigures[], over: NodeFigures[], threshold: number): string {
  if (!over.length) return `no node is overloaded (demand above cpus x ${(1 + threshold).toFixed(2)} with more than one process)`;
  const names = over.map((n) => n.name).join(", ");
  if (over.every((n) => n.busy)) return `${names} overloaded, but a balancer move is in flight there`;
  if (over.every((n) => !n.procs.some((p) => p.movable)))
    return `${names} overloaded, but none of its processes may move yet (residence time, or migrating)`;
  const room = nodes.filter((n) => !over.includes(n) && !n.busy);
  return room.length
    ? `${names} overloaded, but no other node has room for its processes`
    : `${names} overloaded, and every other node is busy`;
}

/** Each pair once (both of its nodes report it), with the higher rate either saw. */
function dedupe(pairs: Array<{ a: string; b: string; rate: number }>): Array<{ a: string; b: string; rate: number }> {
  const by = new Map<string, { a: string; b: string; rate: number }>();
  for (const p of pairs) {
    const key = p.a < p.b ? `${p.a} ${p.b}` : `${p.b} ${p.a}`;
    const seen = by.get(key);
    if (!seen || p.rate > seen.rate) by.set(key, p);
  }
  return [...by.values()].sort((x, y) => y.rate - x.rate);
}
