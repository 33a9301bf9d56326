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
// migrations is the newer.
//
// `nodes` is this node and what every member said in its last heartbeat.

import type { MessageLink } from "../net/link.js";
import type { Peers } from "./peers.js";
import type { ProcessTable } from "./processes.js";
import type { Router } from "./router.js";
import type { NodeInfo, ProcInfo } from "./views.js";

/** How long `ps` waits for a member's own answer before it uses the member's last heartbeat. */
export const QUERY_MS = 1000;

export interface ViewOptions {
  name: string;
  url: () => string;
  maxMemory: number;
  /** how long a departed process stays listed by its old node */
  departedMs: number;
}

/** A query under way: the members yet to answer, and what it does with an answer (or a member gone: no list). */
interface Query {
  waiting: Set<string>;
  heard(peer: string, list: ProcInfo[] | null): void;
}

export class ClusterView {
  private readonly departed = new Map<string, { info: ProcInfo; until: number }>();
  private readonly queries = new Map<number, Query>();
  private qid = 0;

  constructor(
    private readonly o: ViewOptions,
    private readonly table: ProcessTable,
    private readonly peers: Peers,
    router: Router,
  ) {
    router.on("node", "procsQuery", (link, m) => link.send({ t: "procsReply", qid: m.qid, list: this.local() }));
    router.on("node", "procsReply", (link, m) => this.queries.get(m.qid)?.heard(link.peer, m.list));
    // a member that goes away will not answer: stop waiting for it
    peers.onGone((peer) => {
      for (const q of this.queries.values()) q.heard(peer, null);
    });
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
    const answers = await this.ask(this.peers.membership.links());
    const heard = this.peers.membership.processes(new Set(answers.keys()));
    const byPid = new Map<string, ProcInfo>();
    for (const p of [...this.local(), ...heard, ...[...answers.values()].flat()]) {
      const seen = byPid.get(p.pid);
      if (!seen || p.migrations >= seen.migrations) byPid.set(p.pid, p);
    }
    return [...byPid.values()];
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
      memory: this.table.memoryInUse(),
      maxMemory: this.o.maxMemory,
      silentMs: 0,
      reason: null,
    };
  }

  /** Asks each linked member for its processes; the answers that came within QUERY_MS, by member. */
  private ask(links: MessageLink[]): Promise<Map<string, ProcInfo[]>> {
    const answers = new Map<string, ProcInfo[]>();
    const qid = ++this.qid;
    return new Promise((resolve) => {
      const query: Query = {
        waiting: new Set(links.map((l) => l.peer)),
        heard: (peer, list) => {
          if (!query.waiting.delete(peer)) return;
          if (list) answers.set(peer, list);
          if (query.waiting.size === 0) done();
        },
      };
      const done = () => {
        clearTimeout(timer);
        this.queries.delete(qid);
        resolve(answers);
      };
      const timer = setTimeout(done, QUERY_MS);
      if (links.length === 0) return done();
      this.queries.set(qid, query);
      for (const link of links) link.send({ t: "procsQuery", qid });
    });
  }
}
