// A host node: a long-lived process that runs guests and takes part in a
// cluster (docs/DESIGN.md, "The cluster"). This file only composes the parts,
// each in its own module with a small interface:
//
//   server.ts        listens, authenticates each connection as node or client
//   router.ts        hands each message to the part that registered its type
//   peers.ts         joining, node links, heartbeats, leaving (membership.ts: the table)
//   processes.ts     the process table and each process's numbered output
//   modules.ts       the module cache (by SHA-256)
//   capacity.ts      the limits on new work
//   cpu-share.ts     the CPU: capacity (--cpus), each process's demand, holds beyond it
//   cluster-view.ts  the cluster-wide ps (read-your-writes) and nodes
//   requests.ts      client requests: run, attach, kill, ps, nodes
//   emigrations.ts   migrations leaving this node
//   immigrations.ts  migrations arriving at this node
//   messaging/       messages between processes (post-office.ts), with the
//                    cluster's forwarding mechanism (forwarding/)
//   ../policy/       the balancer (balancer.ts): moves processes when load is uneven
//
// A new mechanism is a part beside these: it registers its messages with the
// router and uses the others' interfaces (as the balancer does).

import { Link, CLOSE_LEAVING } from "../net/link.js";
import type { Message } from "../net/protocol.js";
import { MigrantError } from "../errors.js";
import { Capacity } from "./capacity.js";
import { ClusterView } from "./cluster-view.js";
import { Emigrations } from "./emigrations.js";
import { Immigrations } from "./immigrations.js";
import { ModuleCache } from "./modules.js";
import { Peers } from "./peers.js";
import { ProcessTable, type Proc } from "./processes.js";
import { OutputFlow } from "./output-flow.js";
import { LoopDelay } from "./loop-delay.js";
import { CpuShare } from "./cpu-share.js";
import { Requests } from "./requests.js";
import { Router } from "./router.js";
import { NodeServer } from "./server.js";
import type { TlsIdentity, TrustedCa } from "../net/tls.js";
import { PostOffice } from "./messaging/post-office.js";
import type { ForwardingMode } from "./forwarding/forwarding.js";
import { counterOf, originOf } from "../messaging/addresses.js";
import { Balancer } from "../policy/balancer.js";
import type { BalanceMode } from "../policy/transfer.js";

const round2 = (x: number) => Math.round(x * 100) / 100;

/** A stop that has not closed everything by then ends anyway (a link that never closes cannot hold a node). */
const STOP_BOUND_MS = 5000;
/** How many heartbeats a node that handed a process over lists it, as its new node will (until that node's heartbeat does). */
const DEPARTED_BEATS = 10;

export interface NodeOptions {
  name: string;
  host: string;
  port: number;
  join?: string;
  secret: Buffer;
  maxFrame: number;
  /** serve wss:// with this certificate (without: ws://) */
  tls?: TlsIdentity;
  /** the CA the other nodes' certificates are checked with, dialling wss:// (without: this machine's) */
  ca?: TrustedCa;
  /** most connections authenticating at once, and most connections in all */
  maxPending: number;
  maxConnections: number;
  maxProcs: number;
  /** limit on the sum of guests' maximum memories, bytes */
  maxMemory: number;
  /** how many processes it runs at full speed (cpu-share.ts) */
  cpus: number;
  heartbeatMs: number;
  /** how messages reach a process that moved (the same on every node of a cluster) */
  forwarding: ForwardingMode;
  /** how the balancer moves processes, and when a node is overloaded (both the same on every node of a cluster) */
  balance: BalanceMode;
  balanceThreshold: number;
  /** the balancer does not move a process again until it has run this long here */
  residenceMs: number;
  /** messages a process's mailbox holds */
  mailbox: number;
  /** how long a message may make no progress before its send returns false */
  deliverTimeoutMs: number;
  /** forwarding by update: how long a move waits for its link holders */
  updateWaitMs: number;
  /** a client that reads none of a process's output this long, while the process waits for it, is dropped */
  readerTimeoutMs: number;
  /** one line per event or guest output line; a promise returned: the terminal is full until it settles (the guest waits) */
  log: (line: string) => unknown;
}

export class ClusterNode {
  url = "";
  readonly router: Router;
  readonly processes: ProcessTable;
  readonly peers: Peers;
  readonly capacity: Capacity;
  readonly view: ClusterView;
  readonly post: PostOffice;
  readonly cpu: CpuShare;
  readonly balancer: Balancer;
  private readonly server: NodeServer;
  private readonly requests: Requests;
  private readonly clients = new Set<Link>();
  private readonly loop: LoopDelay;

  constructor(private readonly o: NodeOptions) {
    const event = (s: string) => o.log(`* ${s}`);
    const url = () => this.url;
    this.router = new Router(event);
    this.processes = new ProcessTable(o.name, o.log, event, o.mailbox, new OutputFlow(o.readerTimeoutMs, event));
    const mail = () => ({ ...this.post.counters });
    const loop = new LoopDelay();
    this.loop = loop;
    const cpu = new CpuShare(o.cpus, this.processes);
    this.cpu = cpu;
    this.processes.cpuOf = (pid) => {
      const f = cpu.of(pid);
      return { demand: round2(f.demand), cpu: round2(f.use) };
    };
    const demand = () => round2(cpu.totals().demand);
    const state = () => ({
      url: this.url,
      loopMs: loop.sample(),
      memory: this.processes.memoryInUse(),
      maxMemory: o.maxMemory,
      cpus: o.cpus,
      demand: demand(),
      procs: this.processes.infos(),
      mail: mail(),
      balance: this.balancer.state(),
    });
    this.peers = new Peers(
      {
        ...o,
        url,
        state,
        event,
        highestPid: (name) => this.highestPid(name),
        pidsUpTo: (k) => this.processes.seenPid(`${o.name}.${k}`),
        balance: { mode: o.balance, threshold: o.balanceThreshold },
      },
      this.router,
    );
    // a restarted node never hands out a pid that still lives elsewhere
    this.peers.onHeartbeat((_peer, s) => s.procs.forEach((p) => this.processes.seenPid(p.pid)));
    this.capacity = new Capacity(o.name, o, this.processes);
    this.post = new PostOffice(
      { self: o.name, forwarding: o.forwarding, deliverTimeoutMs: o.deliverTimeoutMs, updateWaitMs: o.updateWaitMs, event },
      this.processes,
      this.peers,
      this.router,
    );
    this.view = new ClusterView(
      {
        name: o.name,
        url,
        maxMemory: o.maxMemory,
        departedMs: DEPARTED_BEATS * o.heartbeatMs,
        mail,
        loopMs: () => loop.worst(),
        cpus: o.cpus,
        demand,
        balance: () => this.balancer.countersNow(),
      },
      this.processes,
      this.peers,
      this.router,
    );
    const modules = new ModuleCache(event);
    this.requests = new Requests(o.name, this.processes, modules, this.capacity, this.view, this.router);
    // the migration parts register their messages with the router; nothing else calls them
    const emigrations = new Emigrations(o.name, this.processes, this.peers, this.view, event, this.router, this.post);
    new Immigrations(o.name, this.processes, modules, this.capacity, event, this.router, this.peers, this.post);
    this.balancer = new Balancer(
      { name: o.name, mode: o.balance, threshold: o.balanceThreshold, residenceMs: o.residenceMs, event },
      { table: this.processes, cpu, peers: this.peers, router: this.router, pairs: this.post.pairs, emigrations },
    );
    this.server = new NodeServer({ ...o, event }, (link) => (link.role === "node" ? void this.peers.welcome(link) : this.client(link)));
  }

  /** The highest pid counter of node `name` this node knows of: in its table, and in what the members last said. */
  private highestPid(name: string): number {
    let k = 0;
    for (const p of [...this.processes.infos(), ...this.peers.membership.processes()]) {
      if (originOf(p.pid) === name) k = Math.max(k, counterOf(p.pid) || 0);
    }
    return k;
  }

  /** Takes an authenticated client link: its requests go to the router; what it watched or sent is forgotten when it goes. */
  private client(link: Link): void {
    this.clients.add(link);
    link.on("close", () => {
      this.clients.delete(link);
      this.processes.unwatch(link);
      this.requests.clientGone(link);
      this.post.clientGone(link);
    });
    link.on("message", (m: Message) => this.router.route("client", link, m));
  }

  async start(): Promise<void> {
    this.url = await this.server.listen();
    this.peers.start();
    if (!this.o.join) return;
    try {
      await this.peers.join(this.o.join);
    } catch (e) {
      await this.shutdown();
      throw e instanceof MigrantError ? e : new MigrantError(`cannot join the cluster through ${this.o.join}: ${(e as Error).message}`);
    }
  }

  /** Stops cleanly: refuses new work, says which processes die with it, tells the others. */
  async stop(reason = "stopped"): Promise<string[]> {
    if (this.capacity.closed) return [];
    this.capacity.close();
    this.balancer.close();
    const dying = this.processes.running();
    const pids = dying.map((p) => p.info.pid);
    this.o.log(
      `* stopping (${reason}): taking no new work; ` +
        (pids.length ? `these processes die with this node: ${pids.join(", ")}` : "no processes die with it"),
    );
    const bound = new Promise<"late">((r) => setTimeout(() => r("late"), STOP_BOUND_MS).unref());
    const done = await Promise.race([this.wind(dying, reason), bound]);
    if (done === "late") this.o.log(`* stopping took over ${STOP_BOUND_MS / 1000} s; ending without waiting for the rest`);
    return pids;
  }

  /** The clean part of a stop: the processes end, the others hear so, every link and the server close. */
  private async wind(dying: Proc[], reason: string): Promise<void> {
    await Promise.all(dying.map((p) => p.process?.kill()));
    await new Promise((r) => setImmediate(r)); // let the exits land in the table
    this.peers.beat(); // the others learn how each process ended, rather than calling them lost
    this.peers.leave(reason);
    await this.shutdown();
  }

  /** Closes every link, timer and the server. */
  private async shutdown(): Promise<void> {
    this.loop.close();
    this.balancer.close();
    this.cpu.close();
    this.post.close();
    this.peers.close();
    for (const c of this.clients) c.close(CLOSE_LEAVING, `node ${this.o.name} is stopping`);
    await this.server.close();
  }
}
