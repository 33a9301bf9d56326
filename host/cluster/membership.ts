// Cluster membership: who the other nodes are, whether they are up, and what
// they last said about themselves.
//
// A node joins through any member: it sends `join`, gets the member list, and
// opens one link to each other member (the newcomer always dials, so each pair
// has exactly one link). Every node sends a heartbeat with its load and its
// process list over every link at a fixed interval. A node silent for
// `downAfterMs`, or whose link closes, is marked down, and the processes it
// last reported running are reported lost (never silently forgotten); one that
// says `bye` has left.

import type { Link } from "../net/link.js";
import type { HeartbeatState, NodeInfo, NodeState, ProcInfo } from "./views.js";

export interface Member {
  name: string;
  url: string;
  state: NodeState;
  link: Link | null;
  /** performance.now() when last heard from (monotonic: the wall clock may jump) */
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
  ) {}

  /** Adds or revives a member reached over `link`. */
  add(name: string, url: string, link: Link | null): Member {
    let m = this.members.get(name);
    if (!m) {
      m = { name, url, state: "up", link, lastSeen: performance.now(), last: null, reason: null };
      this.members.set(name, m);
    } else {
      Object.assign(m, { url, state: "up", link: link ?? m.link, lastSeen: performance.now(), reason: null });
    }
    return m;
  }

  heard(name: string, state: HeartbeatState): void {
    const m = this.members.get(name);
    if (!m) return;
    m.last = state;
    m.lastSeen = performance.now();
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

  /** Marks down every member silent for too long. */
  sweep(): void {
    const now = performance.now();
    for (const m of this.members.values()) {
      if (m.state === "up" && now - m.lastSeen > this.downAfterMs) {
        this.down(m.name, "down", `silent for ${((now - m.lastSeen) / 1000).toFixed(1)} s`);
      }
    }
  }

  links(): Link[] {
    return [...this.members.values()].filter((m) => m.state === "up" && m.link?.open).map((m) => m.link!);
  }

  /** Every other node's processes as last reported (lost ones marked). */
  processes(): ProcInfo[] {
    return [...this.members.values()].flatMap((m) => m.last?.procs ?? []);
  }

  nodes(): NodeInfo[] {
    const now = performance.now();
    return [...this.members.values()]
      .filter((m) => m.name !== this.self)
      .map((m) => ({
        name: m.name,
        url: m.url,
        state: m.state,
        load: m.last?.procs.filter((p) => p.state === "running").length ?? 0,
        procs: m.last?.procs.length ?? 0,
        memory: m.last?.memory ?? 0,
        maxMemory: m.last?.maxMemory ?? 0,
        silentMs: Math.round(now - m.lastSeen),
        reason: m.reason,
      }));
  }
}
