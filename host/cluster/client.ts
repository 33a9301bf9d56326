// A client of the cluster: one authenticated link to one node, with
// request/response matching by request id, and the output and exit of the
// processes it runs or attaches to.

import { createHash } from "node:crypto";
import { connect, type Link } from "../net/link.js";
import type { Message, MessageOf, MessageType } from "../net/protocol.js";
import { MigrantError } from "../errors.js";
import type { NodeInfo, ProcInfo } from "./views.js";

export interface Exit {
  code: number;
  error: string | null;
}

/** How watching a process here ended: it exited, or it moved to another node. */
export type WatchEnd = { exit: Exit } | { moved: { node: string; url: string } };

export class ClusterClient {
  private req = 0;
  private waiting = new Map<number, (m: Message) => void>();
  private outputs = new Map<string, (line: string) => void>();
  private ends = new Map<string, (e: WatchEnd) => void>();
  /** per watched pid: the seq of the next line wanted (lines replayed twice are dropped) */
  private nextSeq = new Map<string, number>();
  private progress = new Map<number, (p: unknown) => void>();
  private closedBecause: string | null = null;

  private constructor(readonly link: Link) {
    link.on("message", (m: Message) => this.dispatch(m));
    link.on("close", (code: number, reason: string) => {
      this.closedBecause = reason || `code ${code}`;
      const err: Message = { t: "error", req: 0, message: `the node closed the connection (${this.closedBecause})` };
      for (const w of this.waiting.values()) w(err);
      this.waiting.clear();
      for (const [pid, f] of this.ends)
        f({ exit: { code: 1, error: `lost contact with the node running ${pid} (${this.closedBecause})` } });
      this.ends.clear();
    });
    link.on("failure", () => undefined);
  }

  static async open(url: string, secret: Buffer): Promise<ClusterClient> {
    return new ClusterClient(await connect(url, { secret, role: "client", name: `client-${process.pid}` }));
  }

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
        this.nextSeq.set(m.pid, m.seq + 1);
        return this.outputs.get(m.pid)?.(m.line);
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
      if (w) {
        this.waiting.delete(m.req);
        w(m);
      }
    }
  }

  private endWatch(pid: string, e: WatchEnd): void {
    const f = this.ends.get(pid);
    this.ends.delete(pid);
    this.outputs.delete(pid);
    f?.(e);
  }

  /** Sends a request and waits for the answer with its id (an `error` answer throws). */
  private ask<T extends MessageType>(build: (req: number) => Message, types: T[]): Promise<MessageOf<T>> {
    const req = ++this.req;
    return this.await(req, types, () => this.link.send(build(req)));
  }

  private await<T extends MessageType>(req: number, types: T[], send?: () => void): Promise<MessageOf<T>> {
    return new Promise((resolve, reject) => {
      if (this.closedBecause) return reject(new MigrantError(`the node closed the connection (${this.closedBecause})`));
      this.waiting.set(req, (m) => {
        if (m.t === "error") reject(new MigrantError(m.message));
        else if ((types as string[]).includes(m.t)) resolve(m as MessageOf<T>);
        else reject(new MigrantError(`unexpected answer ${m.t}`));
      });
      send?.();
    });
  }

  async ps(): Promise<ProcInfo[]> {
    return (await this.ask((req) => ({ t: "psRequest", req }), ["ps"])).list as ProcInfo[];
  }

  async nodes(): Promise<NodeInfo[]> {
    return (await this.ask((req) => ({ t: "nodesRequest", req }), ["nodes"])).list as NodeInfo[];
  }

  /** Starts a module on this node (sending it only if the node lacks it). Resolves with its pid. */
  async run(
    bytes: Uint8Array,
    name: string,
    args: string[],
    watch: { onOutput: (line: string) => void; onEnd: (e: WatchEnd) => void } | null,
  ): Promise<string> {
    const hash = createHash("sha256").update(bytes).digest("hex");
    const req = ++this.req;
    let reply = await this.await(req, ["needModule", "started"], () =>
      this.link.send({ t: "run", req, hash, module: name, args, detach: watch ? 0 : 1 }),
    );
    if (reply.t === "needModule") {
      reply = await this.await(req, ["started"], () => this.link.send({ t: "module", req, hash, bytes }));
    }
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
    await this.ask((req) => ({ t: "attach", req, pid, from }), ["started"]);
    return end;
  }

  /** The seq of the next output line of `pid` this client wants. */
  seqOf(pid: string): number {
    return this.nextSeq.get(pid) ?? 1;
  }

  /** Kills a process on this node; resolves when it has ended. */
  async kill(pid: string): Promise<WatchEnd> {
    const end = new Promise<WatchEnd>((resolve) => this.watch(pid, Number.MAX_SAFE_INTEGER, () => undefined, resolve));
    const req = ++this.req;
    const failed = this.await(req, ["started"], () => this.link.send({ t: "kill", req, pid }));
    return Promise.race([end, failed.then(() => end)]);
  }

  /** Migrates a process of this node; resolves with the statistics once it completed, failed or was cancelled. */
  async migrate(pid: string, to: string, options: unknown, onProgress: (p: unknown) => void): Promise<unknown> {
    const req = ++this.req;
    this.progress.set(req, onProgress);
    try {
      const r = await this.await(req, ["migResult"], () => this.link.send({ t: "migrate", req, pid, to, options }));
      return r.stats;
    } finally {
      this.progress.delete(req);
    }
  }

  async cancelMigration(pid: string): Promise<void> {
    await this.ask((req) => ({ t: "migrateCancel", req, pid }), ["started"]);
  }
}
