// One client connection: an authenticated link to one node, with requests
// matched to their answers by request id, and the output and end of the
// processes it runs or attaches to on that node. An `error` answer becomes a
// RequestError with the node's code. The cluster-wide calls (finding the node
// a process runs on, following it when it moves) are cluster.ts's.

import { createHash } from "node:crypto";
import { CLOSE_SLOW_READER, connect, LinkError, type Link } from "../net/link.js";
import type { Message, MessageOf, MessageType } from "../net/protocol.js";
import type { TrustedCa } from "../net/tls.js";
import { MigrantError, RequestError } from "../errors.js";
import type { NodeInfo, ProcInfo } from "../cluster/views.js";
import type { MigrationOptions, MigrationStats, Progress } from "../migration/options.js";
import type { PlannedMove } from "../policy/plan.js";

export interface Exit {
  code: number;
  error: string | null;
}

/** How watching a process here ended: it exited, or it moved to another node. */
export type WatchEnd = { exit: Exit } | { moved: { node: string; url: string } };

/** A message delivered: to which process, after how many extra node hops, in how long (as the entry node measured it). */
export interface Delivered {
  pid: string;
  hops: number;
  ms: number;
}

/** What a node's balancer would do now: its mode, the moves, and why none when there are none. */
export interface BalancePlan {
  mode: string;
  moves: PlannedMove[];
  why: string;
}

/** A module as a client sends it: its bytes and the name it runs under. */
export interface ModuleFile {
  bytes: Uint8Array;
  name: string;
}

type Answer = (m: Message | MigrantError) => void;
/** Lines first..last of pid were wanted but the node keeps them no longer (its replay ring moved on). */
export type OnGap = (pid: string, first: number, last: number) => void;

export class Connection {
  private req = 0;
  private readonly waiting = new Map<number, Answer>();
  private readonly outputs = new Map<string, (line: string) => void>();
  private readonly ends = new Map<string, (e: WatchEnd) => void>();
  /** per watched pid: the seq of the next line wanted (lines replayed twice are dropped) */
  private readonly nextSeq = new Map<string, number>();
  private readonly progress = new Map<number, (p: Progress) => void>();
  private closedBecause: string | null = null;
  /** reading is paused until the terminal has taken a line */
  private paused = false;

  private constructor(
    private readonly link: Link,
    private readonly onGap: OnGap | undefined,
  ) {
    link.on("message", (m: Message) => this.dispatch(m));
    link.on("close", (code: number, reason: string) => {
      this.closedBecause = reason || `code ${code}`;
      const lost = new LinkError(`the node closed the connection (${this.closedBecause})`);
      for (const w of this.waiting.values()) w(lost);
      this.waiting.clear();
      for (const [pid, f] of this.ends) {
        const error =
          code === CLOSE_SLOW_READER
            ? `the node dropped this client: it did not read ${pid}'s output for too long; ` +
              `\`migrant attach ${pid} --from ${this.seqOf(pid)}\` takes it up again`
            : `lost contact with the node running ${pid} (${this.closedBecause})`;
        f({ exit: { code: 1, error } });
      }
      this.ends.clear();
    });
    link.on("failure", () => undefined);
  }

  static async open(url: string, secret: Buffer, ca?: TrustedCa, onGap?: OnGap): Promise<Connection> {
    return new Connection(await connect(url, { secret, role: "client", name: `client-${process.pid}`, ca }), onGap);
  }

  /** The name of the node at the other end. */
  get node(): string {
    return this.link.peer;
  }

  close(): void {
    this.link.close();
  }

  private dispatch(m: Message): void {
    switch (m.t) {
      case "output": {
        const want = this.nextSeq.get(m.pid) ?? 0;
        if (m.seq < want) return;
        if (m.seq > want && want >= 1) this.onGap?.(m.pid, want, m.seq - 1); // lines the node no longer keeps
        this.nextSeq.set(m.pid, m.seq + 1);
        const written: unknown = this.outputs.get(m.pid)?.(m.line);
        // a terminal that does not keep up: read no more until it has taken the line (the node then holds the guest back)
        if (written instanceof Promise && !this.paused) {
          this.paused = true;
          this.link.pause();
          void written.finally(() => {
            this.paused = false;
            this.link.resume();
          });
        }
        return;
      }
      case "exited":
        return this.endWatch(m.pid, { exit: { code: m.code, error: m.error || null } });
      case "moved":
        return this.endWatch(m.pid, { moved: { node: m.node, url: m.url } });
      case "migProgress":
        return this.progress.get(m.req)?.(m.progress);
    }
    if ("req" in m) {
      const w = this.waiting.get(m.req);
      this.waiting.delete(m.req);
      w?.(m.t === "error" ? new RequestError(m.code, m.message) : m);
    }
  }

  private endWatch(pid: string, e: WatchEnd): void {
    const f = this.ends.get(pid);
    this.ends.delete(pid);
    this.outputs.delete(pid);
    f?.(e);
  }

  /** Sends a request (built with its id) and waits for its answer of one of `types`; an `error` answer rejects. */
  private ask<T extends MessageType>(types: T[], build: (req: number) => Message, req = ++this.req): Promise<MessageOf<T>> {
    return new Promise((resolve, reject) => {
      if (this.closedBecause) return reject(new LinkError(`the node closed the connection (${this.closedBecause})`));
      this.waiting.set(req, (m) => {
        if (m instanceof MigrantError) reject(m);
        else if ((types as string[]).includes(m.t)) resolve(m as MessageOf<T>);
        else reject(new MigrantError(`unexpected answer ${m.t} from node ${this.node}`));
      });
      this.link.send(build(req));
    });
  }

  async ps(): Promise<ProcInfo[]> {
    return (await this.ask(["ps"], (req) => ({ t: "psRequest", req }))).list;
  }

  async nodes(): Promise<NodeInfo[]> {
    return (await this.ask(["nodes"], (req) => ({ t: "nodesRequest", req }))).list;
  }

  /** Starts a module on this node (sending it only if the node lacks it). Resolves with its pid. */
  async run(
    module: ModuleFile,
    args: string[],
    watch: { onOutput: (line: string) => void; onEnd: (e: WatchEnd) => void } | null,
  ): Promise<string> {
    const hash = createHash("sha256").update(module.bytes).digest("hex");
    const req = ++this.req;
    let reply = await this.ask(
      ["needModule", "started"],
      () => ({ t: "run", req, hash, module: module.name, args, detach: watch ? 0 : 1 }),
      req,
    );
    if (reply.t === "needModule") reply = await this.ask(["started"], () => ({ t: "module", req, hash, bytes: module.bytes }), req);
    const pid = (reply as MessageOf<"started">).pid;
    if (watch) this.watch(pid, 1, watch.onOutput, watch.onEnd);
    return pid;
  }

  private watch(pid: string, from: number, onOutput: (line: string) => void, onEnd: (e: WatchEnd) => void): void {
    this.nextSeq.set(pid, from);
    this.outputs.set(pid, onOutput);
    this.ends.set(pid, onEnd);
  }

  /** Watches a process on this node from output line `from` on, until it exits or moves. */
  async attach(pid: string, from: number, onOutput: (line: string) => void): Promise<WatchEnd> {
    const end = new Promise<WatchEnd>((resolve) => this.watch(pid, from, onOutput, resolve));
    await this.ask(["started"], (req) => ({ t: "attach", req, pid, from }));
    return end;
  }

  /** The seq of the next output line of `pid` this connection wants. */
  seqOf(pid: string): number {
    return this.nextSeq.get(pid) ?? 1;
  }

  /** Kills a process on this node; resolves when it has ended. */
  async kill(pid: string): Promise<WatchEnd> {
    const end = new Promise<WatchEnd>((resolve) => this.watch(pid, Number.MAX_SAFE_INTEGER, () => undefined, resolve));
    const accepted = this.ask(["started"], (req) => ({ t: "kill", req, pid }));
    return Promise.race([end, accepted.then(() => end)]);
  }

  /** Migrates a process of this node; resolves with the statistics once it completed, failed or was cancelled. */
  async migrate(pid: string, to: string, options: Partial<MigrationOptions>, onProgress: (p: Progress) => void): Promise<MigrationStats> {
    const req = ++this.req;
    this.progress.set(req, onProgress);
    try {
      return (await this.ask(["migResult"], () => ({ t: "migrate", req, pid, to, options }), req)).stats;
    } finally {
      this.progress.delete(req);
    }
  }

  /** Sends a message to a process (by pid or name) through this node; resolves once it is in the process's mailbox. */
  async send(to: string, data: Uint8Array): Promise<Delivered> {
    const r = await this.ask(["sendResult"], (req) => ({ t: "sendRequest", req, to, data }));
    return { pid: r.pid, hops: r.hops, ms: r.ms };
  }

  /** The moves this node's balancer would make now, from its view of the cluster (nothing moves). */
  async balancePlan(): Promise<BalancePlan> {
    const r = await this.ask(["balancePlan"], (req) => ({ t: "balanceRequest", req }));
    return { mode: r.mode, moves: r.list, why: r.why };
  }

  async cancelMigration(pid: string): Promise<void> {
    await this.ask(["started"], (req) => ({ t: "migrateCancel", req, pid }));
  }
}
