// The information policy of the balancer: what a node knows of the load, and
// where it learns it. Of itself, first-hand: its capacity (--cpus), the sum
// of its processes' demands (cluster/cpu-share.ts; an unmeasured process
// counts 1), and for each running process its share (its demand, 1 until
// measured), its memory (what a move must transfer), its dirty rate where it
// is known (the last pre-copy of it that failed here measured it; otherwise
// unknown, and the memory alone stands for the cost), how long it has
// run on this node (since it started, or since it was first seen here after
// it arrived), and the processes it exchanges messages with
// (cluster/messaging/pair-rates.ts). Of the members, what their last
// heartbeats said: capacity, demand, processes, and their balancer's state
// (busy, which processes may move, their chatty pairs). The heartbeat
// figures are for choosing whom to probe and for the dry-run; a move itself
// is decided on a probe's fresh answer.

import type { CpuShare } from "../cluster/cpu-share.js";
import type { PairRate, PairRates } from "../cluster/messaging/pair-rates.js";
import type { Peers } from "../cluster/peers.js";
import type { ProcessTable } from "../cluster/processes.js";
import type { Slot } from "./transfer.js";

/** The pairs a heartbeat reports: the busiest, at most this many. */
const REPORTED_PAIRS = 16;

/** What the balancer knows of one running process. */
export interface ProcFigures {
  pid: string;
  /** share of a core it wants (1 until measured) */
  share: number;
  /** bytes a move transfers */
  memory: number;
  /** pages per second it dirtied when last tracked, if known */
  dirtyRate: number | null;
  /** past its residence time and not migrating: the balancer may move it */
  movable: boolean;
}

/** What the balancer knows of one node. */
export interface NodeFigures {
  name: string;
  cpus: number;
  /** the sum of its processes' demands, with the share it has reserved for a process on its way */
  demand: number;
  /** a balancer move is in flight there */
  busy: boolean;
  procs: ProcFigures[];
}

export interface InformationOptions {
  name: string;
  residenceMs: number;
  table: ProcessTable;
  cpu: CpuShare;
  peers: Peers;
  pairs: PairRates;
  slot: Slot;
}

export class Information {
  /** when each process here was first seen here (or started here), and after how many moves (one that left and came back is new) */
  private readonly since = new Map<string, { at: number; migrations: number }>();
  private readonly dirty = new Map<string, number>();

  constructor(private readonly o: InformationOptions) {}

  /** Notes the processes that arrived since the last call, and forgets those gone. */
  refresh(): void {
    const now = performance.now();
    const here = new Set<string>();
    for (const p of this.o.table.running()) {
      here.add(p.info.pid);
      // one started here has been resident since its start; one that arrived, since now (it was not here at the last look)
      const seen = this.since.get(p.info.pid);
      if (!seen || seen.migrations !== p.info.migrations)
        this.since.set(p.info.pid, { at: p.info.migrations === 0 ? p.began : now, migrations: p.info.migrations });
    }
    for (const pid of this.since.keys()) if (!here.has(pid)) this.since.delete(pid);
    for (const pid of this.dirty.keys()) if (!here.has(pid)) this.dirty.delete(pid);
  }

  /** A pre-copy of `pid` measured this dirty rate (pages/s) and the process stayed here. */
  noteDirtyRate(pid: string, pagesPerSecond: number): void {
    if (pagesPerSecond > 0) this.dirty.set(pid, pagesPerSecond);
  }

  /** This node, now. */
  self(): NodeFigures {
    this.refresh();
    const now = performance.now();
    const procs = this.o.table.running().map((p): ProcFigures => {
      const f = this.o.cpu.of(p.info.pid);
      const resident = now - (this.since.get(p.info.pid)?.at ?? now) >= this.o.residenceMs;
      return {
        pid: p.info.pid,
        share: f.measured ? f.demand : 1,
        memory: p.process ? p.process.memory.buffer.byteLength : 0,
        dirtyRate: this.dirty.get(p.info.pid) ?? null,
        movable: resident && !!p.process && !p.migrating && !p.settling,
      };
    });
    return {
      name: this.o.name,
      cpus: this.o.cpu.cpus,
      demand: this.o.cpu.totals().demand + this.o.slot.reserved,
      busy: this.o.slot.busy,
      procs,
    };
  }

  /** Every up member, as its last heartbeat said. */
  members(): NodeFigures[] {
    const out: NodeFigures[] = [];
    for (const m of this.o.peers.membership.members.values()) {
      if (m.state !== "up" || !m.last || !this.o.peers.membership.up(m.name)) continue;
      const movable = new Set(m.last.balance?.movable ?? []);
      const procs = m.last.procs
        .filter((p) => p.state === "running" && p.node === m.name)
        .map((p) => ({ pid: p.pid, share: p.demand, memory: p.memory, dirtyRate: null, movable: movable.has(p.pid) }));
      out.push({ name: m.name, cpus: m.last.cpus, demand: m.last.demand, busy: m.last.balance?.busy ?? false, procs });
    }
    return out;
  }

  /** The processes `pid` exchanges messages with, and how often (messages/s). */
  partners(pid: string): Array<{ pid: string; rate: number }> {
    return this.o.pairs.partners(pid);
  }

  /** The busiest pairs with an end here, as a heartbeat reports them. */
  pairs(): PairRate[] {
    return this.o.pairs
      .rates()
      .sort((x, y) => y.rate - x.rate)
      .slice(0, REPORTED_PAIRS)
      .map((r) => ({ ...r, rate: Math.round(r.rate * 100) / 100 }));
  }

  /** The pairs the members reported, by the node that reported them. */
  memberPairs(): PairRate[] {
    return [...this.o.peers.membership.members.values()].flatMap((m) => (m.state === "up" ? (m.last?.balance?.pairs ?? []) : []));
  }
}
