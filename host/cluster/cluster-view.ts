// What any node answers for the whole cluster: `ps` and `nodes`.
//
// `ps` reads its writes: the node asked sends every up member a `procsQuery`
// and merges the answers (`procsReply`) with its own table, so a process that
// any node has started or taken in before the question is listed, wherever it
// runs. A member that does not answer within QUERY_MS (or goes away
// meanwhile) is represented by its last heartbeat. A process that moves
// between two answers could be missed by both nodes; so a node that hands a
// process over lists it, as its new node will, for a while after (`departed`,
// in its own answers too); of two entries for one pid the one with more
// migrations is the newer, and of two with as many the one from the node it
// is on (its old node's `departed` entry says "running" after it ended there),
// except that a process running here is listed as this node has it (what a
// member says of it is stale, or false).
//
// `nodes` is this node and what every member said in its last heartbeat.

import type { Peers } from "./peers.js";
import type { ProcessTable } from "./processes.js";
import type { Router } from "./router.js";
import { Queries } from "./queries.js";
import type { BalanceCounters, MailCounters, NodeInfo, ProcInfo } from "./views.js";

/** How long `ps` waits for a member's own answer before it uses the member's last heartbeat. */
export const QUERY_MS = 1000;

export interface ViewOptions {
  name: string;
  url: () => string;
  maxMemory: number;
  /** how long a departed process stays listed by its old node */
  departedMs: number;
  /** this node's message counters now */
  mail: () => MailCounters;
  /** this node's recent longest event-loop delay, ms */
  loopMs: () => number;
  /** its CPU capacity (--cpus), and the sum of its processes' demands now */
  cpus: number;
  demand: () => number;
  /** its balancer's mode and counters (absent: a test's view without one) */
  balance?: () => BalanceCounters;
}

export class ClusterView {
  private readonly departed = new Map<string, { info: ProcInfo; until: number }>();
  private readonly queries: Queries<ProcInfo[]>;

  constructor(
    private readonly o: ViewOptions,
    private readonly table: ProcessTable,
    private readonly peers: Peers,
    router: Router,
  ) {
    router.on("node", "procsQuery", (link, m) => link.send({ t: "procsReply", qid: m.qid, list: this.local() }));
    router.on("node", "procsReply", (link, m) => this.queries.answer(link.peer, m.qid, m.list));
    this.queries = new Queries(peers);
  }

  /** A process handed over to another node: listed as it will be there, until that node reports it. */
  departedTo(info: ProcInfo): void {
    this.departed.set(info.pid, { info, until: performance.now() + this.o.departedMs });
  }

  /** What this node knows first-hand: its processes, and those it handed over a moment ago. */
  private local(): ProcInfo[] {
    const now = performance.now();
    for (const [pid, d] of this.departed) if (d.until < now) this.departed.delete(pid);
    return [...[...this.departed.values()].map((d) => d.info), ...this.table.infos()];
  }

  /** Every process of the cluster, once, as its node knows it now. */
  async processes(): Promise<ProcInfo[]> {
    const { answers } = await this.queries.ask((qid) => ({ t: "procsQuery", qid }), QUERY_MS);
    const heard = this.peers.membership.processes(new Set(answers.keys()));
    const byPid = new Map<string, { p: ProcInfo; firstHand: boolean }>();
    const local = this.local();
    // a process that runs here is where this node says: a member's word on it is old, or false
    const here = new Set(local.filter((p) => p.node === this.o.name && p.state === "running").map((p) => p.pid));
    const reports: Array<[string | null, ProcInfo]> = [
      ...local.map((p): [string, ProcInfo] => [this.o.name, p]),
      ...[...answers].flatMap(([peer, list]) => list.map((p): [string, ProcInfo] => [peer, p])),
      ...heard.map((p): [null, ProcInfo] => [null, p]), // a heartbeat's: as old as it is
    ];
    for (const [from, p] of reports) {
      if (here.has(p.pid) && from !== this.o.name) continue;
      const seen = byPid.get(p.pid);
      const firstHand = from === p.node;
      if (!seen || p.migrations > seen.p.migrations || (p.migrations === seen.p.migrations && firstHand && !seen.firstHand)) {
        byPid.set(p.pid, { p, firstHand });
      }
    }
    return [...byPid.values()].map((e) => e.p);
  }

  /** Every node: this one, and the members as last heard from. */
  nodes(): NodeInfo[] {
    return [this.self(), ...this.peers.membership.nodes()];
  }

  private self(): NodeInfo {
    const procs = this.table.infos();
    return {
      name: this.o.name,
      url: this.o.url(),
      state: "up",
      load: procs.filter((p) => p.state === "running").length,
      procs: procs.length,
      cpus: this.o.cpus,
      demand: this.o.demand(),
      memory: this.table.memoryInUse(),
      maxMemory: this.o.maxMemory,
      silentMs: 0,
      loopMs: this.o.loopMs(),
      reason: null,
      mail: this.o.mail(),
      ...(this.o.balance ? { balance: this.o.balance() } : {}),
    };
  }
}
