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

export class ClusterClient {
  private req = 0;
  private waiting = new Map<number, (m: Message) => void>();
  private outputs = new Map<string, (line: string) => void>();
  private exits = new Map<string, (e: Exit) => void>();
  private closedBecause: string | null = null;

  private constructor(readonly link: Link) {
    link.on("message", (m: Message) => this.dispatch(m));
    link.on("close", (code: number, reason: string) => {
      this.closedBecause = reason || `code ${code}`;
      const err: Message = { t: "error", req: 0, message: `the node closed the connection (${this.closedBecause})` };
      for (const w of this.waiting.values()) w(err);
      this.waiting.clear();
      for (const [pid, f] of this.exits) f({ code: 1, error: `lost contact with the node running ${pid} (${this.closedBecause})` });
      this.exits.clear();
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
    if (m.t === "output") return this.outputs.get(m.pid)?.(m.line);
    if (m.t === "exited") {
      const f = this.exits.get(m.pid);
      this.exits.delete(m.pid);
      this.outputs.delete(m.pid);
      return f?.({ code: m.code, error: m.error || null });
    }
    if ("req" in m) {
      const w = this.waiting.get(m.req);
      if (w) {
        this.waiting.delete(m.req);
        w(m);
      }
    }
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
    watch: { onOutput: (line: string) => void; onExit: (e: Exit) => void } | null,
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
    if (watch) this.watch(pid, watch.onOutput, watch.onExit);
    return pid;
  }

  private watch(pid: string, onOutput: (line: string) => void, onExit: (e: Exit) => void): void {
    this.outputs.set(pid, onOutput);
    this.exits.set(pid, onExit);
  }

  /** Follows a process on this node to its exit. */
  async attach(pid: string, onOutput: (line: string) => void): Promise<Exit> {
    const exit = new Promise<Exit>((resolve) => this.watch(pid, onOutput, resolve));
    await this.ask((req) => ({ t: "attach", req, pid }), ["started"]);
    return exit;
  }

  /** Kills a process on this node; resolves when it has ended. */
  async kill(pid: string): Promise<Exit> {
    const exit = new Promise<Exit>((resolve) => this.watch(pid, () => undefined, resolve));
    const req = ++this.req;
    const failed = this.await(req, ["started"], () => this.link.send({ t: "kill", req, pid }));
    return Promise.race([exit, failed.then(() => exit)]);
  }
}
