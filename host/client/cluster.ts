// The client library: typed calls on a whole cluster, through any one of its
// nodes (the entry). The CLI prints what these return; the benchmark and
// `drain` call them directly.
//
// A call about a process talks to the node the process runs on, found through
// the entry's `ps` (which reads its writes: see cluster/cluster-view.ts). A
// process can move between that answer and the call; the node then answers
// "no-such-process" and the call looks again, a bounded number of times.
// Following a process's output (run attached, attach) goes on across its
// moves: when its node says it moved, the follower attaches on the new node
// from the next line it has not seen (nodes number the lines and replay the
// recent ones), so no line is lost or repeated.

import { MigrantError, RequestError } from "../errors.js";
import type { NodeInfo, ProcInfo } from "../cluster/views.js";
import type { MigrationOptions, MigrationStats, Progress } from "../migration/options.js";
import { Connection, type BalancePlan, type Delivered, type Exit, type ModuleFile, type OnGap, type WatchEnd } from "./connection.js";
import { leastLoaded } from "./placement.js";
import type { TrustedCa } from "../net/tls.js";

export type { BalancePlan, Delivered, Exit, ModuleFile } from "./connection.js";

export interface ClusterAddress {
  /** any node of the cluster, ws://HOST:PORT (wss:// for nodes with TLS) */
  node: string;
  secret: Buffer;
  /** the CA the nodes' certificates are checked with (wss://); without it, this machine's */
  ca?: TrustedCa;
}

export interface Started {
  pid: string;
  /** the node it started on */
  node: string;
  /** when its output is followed: how it ended, wherever it ran by then */
  ended: Promise<Exit> | null;
}

/** How often a call about a process looks for it again when it moved meanwhile. */
const LOOK_AGAIN = { tries: 30, everyMs: 100 };
/** How often a follower tries to attach on a process's new node. */
const ATTACH_AGAIN = { tries: 50, everyMs: 100 };
/** Moves a follower goes along with before it gives up. */
const MAX_HOPS = 10_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class Cluster {
  /** `onGap`: told when lines of a followed process were lost to the reader (the node no longer kept them) */
  constructor(
    readonly address: ClusterAddress,
    private readonly onGap?: OnGap,
  ) {}

  private open(url = this.address.node): Promise<Connection> {
    return Connection.open(url, this.address.secret, this.address.ca, this.onGap);
  }

  /** Runs `f` on a connection to the entry node (or `url`), closing it after. */
  private async using<T>(f: (c: Connection) => Promise<T>, url?: string): Promise<T> {
    const c = await this.open(url);
    try {
      return await f(c);
    } finally {
      c.close();
    }
  }

  /** Every process of the cluster. */
  ps(): Promise<ProcInfo[]> {
    return this.using((c) => c.ps());
  }

  /** Every node of the cluster. */
  nodes(): Promise<NodeInfo[]> {
    return this.using((c) => c.nodes());
  }

  /** The moves the entry node's balancer would make now, from its view (its heartbeats; nothing is probed or moved). */
  balancePlan(): Promise<BalancePlan> {
    return this.using((c) => c.balancePlan());
  }

  /** The up node of this name. */
  async node(name: string): Promise<NodeInfo> {
    const nodes = await this.nodes();
    const n = nodes.find((x) => x.name === name);
    if (!n) throw new RequestError("no-such-node", `no node named ${name} in the cluster (nodes: ${nodes.map((x) => x.name).join(", ")})`);
    if (n.state !== "up") throw new RequestError("no-such-node", `node ${name} is ${n.state}${n.reason ? ` (${n.reason})` : ""}`);
    return n;
  }

  /** Where a new process goes: the node named, the one where it runs soonest ("auto": placement.ts), or (undefined) the entry node (null). */
  async place(on: string | undefined): Promise<NodeInfo | null> {
    if (on === "auto") return leastLoaded(await this.nodes(), new Set());
    return on ? this.node(on) : null;
  }

  /**
   * Starts a module on `at` (placed with place(); null: the entry node). With
   * `onOutput`, its output is streamed and followed across moves, and
   * `ended` tells how it ended; without, it runs detached.
   */
  async run(module: ModuleFile, args: string[], o: { at: NodeInfo | null; onOutput?: (line: string) => void }): Promise<Started> {
    let c = await this.open();
    if (o.at && o.at.name !== c.node) {
      c.close();
      c = await this.open(o.at.url);
    }
    try {
      if (!o.onOutput) {
        const pid = await c.run(module, args, null);
        c.close();
        return { pid, node: c.node, ended: null };
      }
      let first!: (e: WatchEnd) => void;
      const end = new Promise<WatchEnd>((r) => (first = r));
      const pid = await c.run(module, args, { onOutput: o.onOutput, onEnd: first });
      return { pid, node: c.node, ended: this.follow(pid, c, end, o.onOutput) };
    } catch (e) {
      c.close();
      throw e;
    }
  }

  /** Follows a process's output, wherever it runs, from line `from` (what its node still keeps of it) to its end. */
  async attach(pid: string, onOutput: (line: string) => void, from = 1): Promise<Exit> {
    const { conn } = await this.locate(pid);
    return this.follow(pid, conn, conn.attach(pid, from, onOutput), onOutput);
  }

  /** Kills a process; resolves with where it ran once it has ended. */
  kill(pid: string): Promise<ProcInfo> {
    return this.onProcessNode(pid, async (c, proc) => {
      if (proc.state !== "running") throw new RequestError("not-running", `process ${pid} is not running (${proc.state})`);
      await c.kill(pid);
      return proc;
    });
  }

  /** Moves a process to node `to`; resolves with the statistics once it completed, failed or was cancelled. */
  migrate(
    pid: string,
    to: string,
    options: Partial<MigrationOptions>,
    onProgress: (p: Progress) => void = () => undefined,
  ): Promise<MigrationStats> {
    return this.onProcessNode(pid, (c) => c.migrate(pid, to, options, onProgress));
  }

  /**
   * Sends a message to a process, by pid or registered name, through the
   * entry node (which finds it wherever it runs, as it would for one of its
   * own processes). Resolves once the message is in the process's mailbox;
   * rejects with `no-such-process` if it does not exist or has ended.
   */
  send(to: string, data: Uint8Array): Promise<Delivered> {
    return this.using((c) => c.send(to, data));
  }

  /** Asks the node a process runs on to cancel its migration under way. */
  cancelMigration(pid: string): Promise<void> {
    return this.onProcessNode(pid, (c) => c.cancelMigration(pid));
  }

  /**
   * Moves every process off node `name`, each to the other node where it runs
   * soonest (placement.ts, counting the ones moved there already), one after
   * the other. A process
   * that ends before its turn has left the node by itself: it is reported in
   * `ended`, not as a failed move.
   */
  async drain(
    name: string,
    options: Partial<MigrationOptions>,
    onEach: (s: MigrationStats) => void = () => undefined,
  ): Promise<{ moves: MigrationStats[]; ended: string[] }> {
    const [nodes, procs] = await this.using(async (c) => [await c.nodes(), await c.ps()] as const);
    if (!nodes.find((n) => n.name === name)) throw new RequestError("no-such-node", `no node named ${name} in the cluster`);
    const moves: MigrationStats[] = [];
    const ended: string[] = [];
    for (const p of procs.filter((x) => x.node === name && x.state === "running")) {
      const to = leastLoaded(nodes, new Set([name]));
      let stats: MigrationStats;
      try {
        stats = await this.migrate(p.pid, to.name, options);
      } catch (e) {
        if (!(e instanceof RequestError && (e.code === "not-running" || e.code === "no-such-process"))) throw e;
        ended.push(p.pid);
        continue;
      }
      if (stats.result === "completed") {
        // counted as a fresh process there (demand 1) until that node's next heartbeat would say better
        to.load++;
        to.demand++;
      }
      moves.push(stats);
      onEach(stats);
    }
    return { moves, ended };
  }

  /** A connection to the node that runs `pid`, and what that node's ps said of it. */
  async locate(pid: string): Promise<{ conn: Connection; proc: ProcInfo }> {
    const entry = await this.open();
    try {
      const proc = (await entry.ps()).find((p) => p.pid === pid);
      if (!proc) throw new RequestError("no-such-process", `no process ${pid} in the cluster (see \`migrant ps\`)`);
      if (proc.state === "lost") throw new RequestError("not-running", `process ${pid} was lost with node ${proc.node}`);
      if (proc.node === entry.node) return { conn: entry, proc };
      const n = await entry.nodes().then((all) => all.find((x) => x.name === proc.node && x.state === "up"));
      if (!n) throw new RequestError("no-such-node", `process ${pid} runs on node ${proc.node}, which is not up`);
      entry.close();
      return { conn: await this.open(n.url), proc };
    } catch (e) {
      entry.close();
      throw e;
    }
  }

  /** Runs `op` on the node that runs `pid`, looking again if the process has moved on meanwhile. */
  private async onProcessNode<T>(pid: string, op: (c: Connection, p: ProcInfo) => Promise<T>): Promise<T> {
    for (let tries = 0; ; tries++) {
      const { conn, proc } = await this.locate(pid);
      try {
        return await op(conn, proc);
      } catch (e) {
        if (tries >= LOOK_AGAIN.tries || !(e instanceof RequestError && e.code === "no-such-process")) throw e;
      } finally {
        conn.close();
      }
      await sleep(LOOK_AGAIN.everyMs);
    }
  }

  /** Follows a watched process across its moves to its exit; closes whichever connection it ends with. */
  private async follow(pid: string, conn: Connection, end: Promise<WatchEnd>, onOutput: (line: string) => void): Promise<Exit> {
    try {
      let e = await end;
      for (let hops = 0; hops < MAX_HOPS; hops++) {
        if ("exit" in e) return e.exit;
        const from = conn.seqOf(pid);
        const movedTo = e.moved.url;
        conn.close();
        for (let tries = 0; ; tries++) {
          try {
            // where it said it went; if not there (it moved on), look it up anew
            conn = tries === 0 ? await this.open(movedTo) : (await this.locate(pid)).conn;
            e = await conn.attach(pid, from, onOutput);
            break;
          } catch (err) {
            conn.close();
            if (tries >= ATTACH_AGAIN.tries) throw err;
            await sleep(ATTACH_AGAIN.everyMs);
          }
        }
      }
      throw new MigrantError(`process ${pid} keeps moving; stopped following it`);
    } finally {
      conn.close();
    }
  }
}
