// Cluster membership: who the other nodes are, whether they are up, and what
// they last said about themselves. This is the table alone; peers.ts joins,
// links and sends heartbeats, and tells it what it hears.
//
// A member silent for `downAfterMs` (sweep), or whose link closes, is marked
// down, and the processes it last reported running are reported lost (never
// silently forgotten); one that says `bye` has left. Time comes from `now`
// (monotonic: the wall clock may jump), so that a test can move it.
//
// Down is not for ever. Any frame from a member counts as hearing it (a
// heartbeat may wait behind page traffic on the same link), and a member that
// was marked down for silence and is heard again on its open link is up again:
// its next heartbeat puts its processes back as running, so a process that
// ran all along is never left "lost". A stall of this node's own event loop
// (SIGSTOP, a long synchronous write) is not the members' silence: the caller
// (peers.ts), seeing its sweep come much later than its period, gives every
// member a fresh window (refresh) instead of sweeping.

import type { MessageLink } from "../net/link.js";
import type { BalanceCounters, HeartbeatState, NodeInfo, NodeState, ProcInfo } from "./views.js";

const countersOf = (b: BalanceCounters): BalanceCounters => ({ mode: b.mode, moved: b.moved, received: b.received, failed: b.failed });

export interface Member {
  name: string;
  url: string;
  state: NodeState;
  link: MessageLink | null;
  /** now() when last heard from */
  lastSeen: number;
  last: HeartbeatState | null;
  reason: string | null;
}

export class Membership {
  readonly members = new Map<string, Member>();

  constructor(
    private readonly self: string,
    private readonly downAfterMs: number,
    private readonly onDown: (m: Member, lost: ProcInfo[]) => void,
    private readonly now: () => number = () => performance.now(),
    /** a member marked down was heard again (after `downMs`) and is up */
    private readonly onUp: (m: Member, downMs: number) => void = () => undefined,
  ) {}

  /** Adds or revives a member reached over `link`. */
  add(name: string, url: string, link: MessageLink | null): Member {
    let m = this.members.get(name);
    if (!m) {
      m = { name, url, state: "up", link, lastSeen: this.now(), last: null, reason: null };
      this.members.set(name, m);
    } else {
      Object.assign(m, { url, state: "up", link: link ?? m.link, lastSeen: this.now(), reason: null });
    }
    return m;
  }

  /** A heartbeat of `name` on `link`: what it says of itself, and that it lives. */
  heard(name: string, state: HeartbeatState, link: MessageLink | null = null): void {
    const m = this.members.get(name);
    if (!m) return;
    m.last = state;
    this.seen(name, link);
  }

  /** Any frame of `name` on `link`: it lives; a member down for silence is up again on that link. */
  seen(name: string, link: MessageLink | null = null): void {
    const m = this.members.get(name);
    if (!m) return;
    const now = this.now();
    const silentFor = now - m.lastSeen;
    m.lastSeen = now;
    if (m.state !== "down" || !link?.open) return;
    Object.assign(m, { state: "up", link, reason: null });
    this.onUp(m, silentFor);
  }

  /** Marks a member down (or left), reporting its running processes lost. */
  down(name: string, state: "down" | "left", reason: string): void {
    const m = this.members.get(name);
    if (!m || m.state !== "up") return;
    m.state = state;
    m.reason = reason;
    m.link = null;
    const lost = (m.last?.procs ?? []).filter((p) => p.state === "running").map((p) => ({ ...p, state: "lost" as const }));
    if (m.last) m.last = { ...m.last, procs: m.last.procs.map((p) => lost.find((l) => l.pid === p.pid) ?? p) };
    this.onDown(m, lost);
  }

  /** Counts every member as heard now: this node itself was not listening (its loop stalled), so their silence proves nothing. */
  refresh(): void {
    const now = this.now();
    for (const m of this.members.values()) m.lastSeen = Math.max(m.lastSeen, now);
  }

  /** Marks down every member silent for too long. */
  sweep(): void {
    const now = this.now();
    for (const m of this.members.values()) {
      if (m.state === "up" && now - m.lastSeen > this.downAfterMs) {
        this.down(m.name, "down", `silent for ${((now - m.lastSeen) / 1000).toFixed(1)} s`);
      }
    }
  }

  /** The member of this name, if it is up and its link is open. */
  up(name: string): Member | null {
    const m = this.members.get(name);
    return m && m.state === "up" && m.link?.open ? m : null;
  }

  links(): MessageLink[] {
    return [...this.members.values()].filter((m) => m.state === "up" && m.link?.open).map((m) => m.link!);
  }

  /** Every other node's processes as last reported (lost ones marked), but for the members `except` names. */
  processes(except: ReadonlySet<string> = new Set()): ProcInfo[] {
    return [...this.members.values()].flatMap((m) => (except.has(m.name) ? [] : (m.last?.procs ?? [])));
  }

  nodes(): NodeInfo[] {
    const now = this.now();
    return [...this.members.values()]
      .filter((m) => m.name !== this.self)
      .map((m) => ({
        name: m.name,
        url: m.url,
        state: m.state,
        load: m.last?.procs.filter((p) => p.state === "running").length ?? 0,
        procs: m.last?.procs.length ?? 0,
        cpus: m.last?.cpus ?? 1,
        demand: m.last?.demand ?? 0,
        memory: m.last?.memory ?? 0,
        maxMemory: m.last?.maxMemory ?? 0,
        silentMs: Math.round(now - m.lastSeen),
        loopMs: m.last?.loopMs ?? 0,
        reason: m.reason,
        mail: m.last?.mail ?? null,
        ...(m.last?.balance ? { balance: countersOf(m.last.balance) } : {}),
      }));
  }
}
