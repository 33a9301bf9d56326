// The transfer policy of the balancer: when a node moves a process, and when
// it takes one. A node is overloaded when the demands of its processes sum
// above its capacity by more than the threshold: demand > cpus x (1 +
// threshold), with more than one process (a lone process has nowhere better
// to be). A node has room for a process of share s when demand + s <= cpus.
// The gap between the two is the hysteresis: a move never makes the
// destination overloaded, so the process does not bounce back.
//
// At most one balancer move is in flight per node, as source or as
// destination (the Slot). A node that probes, asks for work, or accepted to
// receive holds its slot until the move ends, or until a bound passes (a
// peer that never says how it ended cannot hold the node for ever).

/** How a node balances (`migrant node --balance`); the same on every node of a cluster. */
export const BALANCE_MODES = ["off", "sender", "receiver", "symmetric"] as const;
export type BalanceMode = (typeof BALANCE_MODES)[number];

export const DEFAULT_THRESHOLD = 0.25;
export const DEFAULT_RESIDENCE_MS = 5000;
/** How often the balancer looks at its node's load. */
export const TICK_MS = 1000;

/** What the transfer policy reads of a node. */
export interface Load {
  cpus: number;
  demand: number;
  /** running processes */
  procs: number;
}

/** demand > cpus x (1 + threshold), with more than one process. */
export const overloaded = (l: Load, threshold: number): boolean => l.procs > 1 && l.demand > l.cpus * (1 + threshold);

/** How far the node's demand is above its capacity (what a move may shed). */
export const excess = (l: Load): number => Math.max(0, l.demand - l.cpus);

/** Whether a process of `share` fits: demand + share <= cpus. */
export const roomFor = (l: Pick<Load, "cpus" | "demand">, share: number): boolean => l.demand + share <= l.cpus + 1e-9;

/** Room for one more full process: what makes a receiver ask for work. */
export const roomForOne = (l: Pick<Load, "cpus" | "demand">): boolean => roomFor(l, 1);

/** "demand 6.0 over 2 cpus x 1.25": the figures of an overloaded node. */
export const overFigures = (l: Load, threshold: number): string =>
  `demand ${l.demand.toFixed(1)} over ${l.cpus} cpus x ${(1 + threshold).toFixed(2)}`;

/** "demand 1.0 of 2": the figures of a node with room. */
export const roomFigures = (l: Pick<Load, "cpus" | "demand">): string => `demand ${l.demand.toFixed(1)} of ${l.cpus}`;

export type SlotRole = "source" | "destination";

export interface Held {
  role: SlotRole;
  /** the other node, once known */
  peer: string | null;
  /** the process moving, once known */
  pid: string | null;
  /** its share, reserved at a destination */
  share: number;
  until: number;
}

/** The one balancer move in flight on a node (or none). */
export class Slot {
  held: Held | null = null;

  constructor(private readonly now: () => number = () => performance.now()) {}

  /** Whether a move is in flight (a hold past its bound is let go first). */
  get busy(): boolean {
    if (this.held && this.held.until < this.now()) this.held = null;
    return this.held !== null;
  }

  /** Takes the slot for `ms`; false if it is held. */
  take(role: SlotRole, ms: number, o: Partial<Pick<Held, "peer" | "pid" | "share">> = {}): boolean {
    if (this.busy) return false;
    this.held = { role, peer: o.peer ?? null, pid: o.pid ?? null, share: o.share ?? 0, until: this.now() + ms };
    return true;
  }

  /** The share a destination has reserved (counts in its demand while it waits for the process). */
  get reserved(): number {
    return this.busy && this.held?.role === "destination" && this.held.pid !== null ? this.held.share : 0;
  }

  /** Frees the slot if it is this hold. */
  free(h: Held | null): void {
    if (h && this.held === h) this.held = null;
  }
}
