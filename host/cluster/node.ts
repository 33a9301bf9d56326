// A host node: a long-lived process that runs guests and takes part in a
// cluster (DESIGN.md section 5).
//
// It listens for WebSocket links; each one authenticates (net/link.ts) as a
// node or a client. Node links carry membership (join, members, heartbeats,
// bye; see membership.ts). Client links carry requests: run a module (sent
// once, then cached by its SHA-256), attach to a process's output, kill, ps,
// nodes. Clients talk to the node a process runs on directly; any node answers
// ps and nodes for the whole cluster from the heartbeats it receives.
//
// Limits (frame size, processes, guest memory) refuse what exceeds them with a
// message to that one client; a malformed frame closes that one link.

import { createHash } from "node:crypto";
import { WebSocketServer, type WebSocket } from "ws";
import { Image } from "../image.js";
import { GuestProcess } from "../process.js";
import { MigrantError } from "../errors.js";
import { accept, connect, Link, CLOSE_LEAVING } from "../net/link.js";
import type { Message, MessageOf } from "../net/protocol.js";
import { Membership, type Member } from "./membership.js";
import { Mailbox } from "../migration/mailbox.js";
import { emigrate, MigrationFailed } from "../migration/source.js";
import { Immigration } from "../migration/destination.js";
import { parseOptions } from "../migration/parse.js";
import type { NodeInfo, ProcInfo } from "./views.js";
import { formatSize } from "../build/size.js";

export interface NodeOptions {
  name: string;
  host: string;
  port: number;
  join?: string;
  secret: Buffer;
  maxFrame: number;
  maxProcs: number;
  /** limit on the sum of guests' maximum memories, bytes */
  maxMemory: number;
  heartbeatMs: number;
  /** one line per event or guest output line */
  log: (line: string) => void;
}

interface Proc {
  info: ProcInfo;
  /** performance.now() at start and at the end */
  began: number;
  ended: number | null;
  process: GuestProcess | null;
  image: Image;
  watchers: Set<Link>;
  /** output lines so far; line n has seq n (1-based), across migrations */
  seq: number;
  /** the last output lines [seq, line], replayed to a client that attaches or follows a move */
  ring: Array<[number, string]>;
  migrating: { mid: number; cancel: boolean } | null;
  /** after a post-copy arrival: until every page is here and it runs the plain variant again */
  settling: Promise<void> | null;
}

const MAX_ENDED = 200;
/** how long a migration request waits for a post-copy arrival to have all its pages */
const SETTLE_WAIT_MS = 30_000;
const RING = 1000;
/** migration messages from the destination to the source, and from the source to the destination */
const TO_SOURCE = new Set(["migAccept", "migRefuse", "needModule", "migResumed", "migFault", "migDone", "migSynced"]);
const TO_DEST = new Set(["migBegin", "module", "migPages", "migHandover", "migAbort", "migSync"]);

interface Incoming {
  mailbox: Mailbox;
  immigration: Immigration | null;
}

export class ClusterNode {
  url = "";
  private server: WebSocketServer | null = null;
  private readonly procs = new Map<string, Proc>();
  private readonly modules = new Map<string, Image>();
  private readonly membership: Membership;
  private readonly clients = new Set<Link>();
  private counter = 0;
  private migrations = 0;
  private readonly outgoing = new Map<number, { mailbox: Mailbox; peer: string }>();
  private readonly incoming = new Map<string, Incoming>();
  /** processes that just left, as their new node will report them (until its heartbeats do) */
  private readonly departed = new Map<string, { info: ProcInfo; until: number }>();
  private stopping = false;
  private timers: NodeJS.Timeout[] = [];

  constructor(private readonly o: NodeOptions) {
    this.membership = new Membership(o.name, o.heartbeatMs * 6, (m, lost) => {
      const why = m.state === "left" ? `left (${m.reason})` : `is down (${m.reason})`;
      const which = lost.length ? `; its processes are lost: ${lost.map((p) => p.pid).join(", ")}` : "";
      this.event(`node ${m.name} ${why}${which}`);
    });
  }

  private event(s: string): void {
    this.o.log(`* ${s}`);
  }

  async start(): Promise<void> {
    const server = new WebSocketServer({ host: this.o.host, port: this.o.port, maxPayload: this.o.maxFrame });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once("listening", () => resolve());
      server.once("error", (e: NodeJS.ErrnoException) =>
        reject(new MigrantError(`node ${this.o.name} cannot listen on ${this.o.host}:${this.o.port}: ${e.code ?? e.message}`)),
      );
    });
    server.on("error", (e) => this.event(`server error: ${e.message}`));
    const addr = server.address() as { port: number };
    this.url = `ws://${this.o.host}:${addr.port}`;
    server.on("connection", (ws) => void this.onConnection(ws));
    this.timers.push(setInterval(() => this.beat(), this.o.heartbeatMs));
    this.timers.push(setInterval(() => this.membership.sweep(), Math.max(50, this.o.heartbeatMs / 2)));
    if (this.o.join) {
      try {
        await this.joinCluster(this.o.join);
      } catch (e) {
        await this.shutdown();
        throw e instanceof MigrantError ? e : new MigrantError(`cannot join the cluster through ${this.o.join}: ${(e as Error).message}`);
      }
    }
  }

  /** Closes every link, timer and the server. */
  private async shutdown(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    for (const m of this.membership.members.values()) m.link?.close(CLOSE_LEAVING, "leaving");
    for (const c of this.clients) c.close(CLOSE_LEAVING, `node ${this.o.name} is stopping`);
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  // ---- node links -------------------------------------------------------

  private async joinCluster(url: string): Promise<void> {
    const first = await this.dial(url);
    first.send({ t: "join", name: this.o.name, url: this.url });
    const reply = await first.next(["members", "refused"]);
    if (reply.t === "refused") throw new MigrantError(`cannot join the cluster through ${url}: ${reply.reason}`);
    const list = reply.list as Array<{ name: string; url: string }>;
    const via = list.find((m) => m.url === url || m.name === first.peer);
    this.adopt(first, via?.url ?? url);
    for (const m of list) {
      if (m.name === this.o.name || m.name === first.peer) continue;
      try {
        const link = await this.dial(m.url);
        link.send({ t: "join", name: this.o.name, url: this.url });
        const r = await link.next(["members", "refused"]);
        if (r.t === "refused") throw new MigrantError(r.reason);
        this.adopt(link, m.url);
      } catch (e) {
        this.event(`could not reach member ${m.name} at ${m.url}: ${(e as Error).message}`);
      }
    }
    this.event(`joined the cluster through ${url}: ${[...this.membership.members.keys()].join(", ")}`);
  }

  private dial(url: string): Promise<Link> {
    return connect(url, { secret: this.o.secret, role: "node", name: this.o.name, maxFrame: this.o.maxFrame });
  }

  /** Takes an authenticated node link into the membership. */
  private adopt(link: Link, url: string): Member {
    const m = this.membership.add(link.peer, url, link);
    link.on("message", (msg: Message) => this.onNodeMessage(link, msg));
    link.on("close", (_code: number, reason: string) => {
      for (const o of this.outgoing.values()) if (o.peer === link.peer) o.mailbox.fail(new MigrantError(`node ${link.peer} went away`));
      for (const [key, i] of this.incoming) {
        if (!key.startsWith(`${link.peer}:`)) continue;
        i.mailbox.fail(new MigrantError(`node ${link.peer} went away`));
        i.immigration?.sourceLost();
        this.incoming.delete(key);
      }
      if (!this.stopping && this.membership.members.get(link.peer)?.link === link) {
        this.membership.down(link.peer, "down", `link closed${reason ? `: ${reason}` : ""}`);
      }
    });
    this.beatTo(link);
    return m;
  }

  private onNodeMessage(link: Link, m: Message): void {
    if (TO_SOURCE.has(m.t)) {
      const mid = "mid" in m ? m.mid : (m as MessageOf<"needModule">).req;
      this.outgoing.get(mid)?.mailbox.deliver(m);
      return;
    }
    if (TO_DEST.has(m.t)) return this.toDestination(link, m);
    switch (m.t) {
      case "heartbeat":
        this.membership.heard(m.name, m.state as never);
        return;
      case "bye":
        this.membership.down(link.peer, "left", m.reason);
        return;
    }
  }

  private heartbeatState() {
    return {
      url: this.url,
      memory: this.memoryInUse(),
      maxMemory: this.o.maxMemory,
      procs: this.ownProcesses(),
    };
  }

  private beatTo(link: Link): void {
    link.send({ t: "heartbeat", name: this.o.name, state: this.heartbeatState() });
  }

  private beat(): void {
    const msg: Message = { t: "heartbeat", name: this.o.name, state: this.heartbeatState() };
    for (const link of this.membership.links()) link.send(msg);
  }

  // ---- accepting links --------------------------------------------------

  private async onConnection(ws: WebSocket): Promise<void> {
    const raw = new Link(ws, this.o.maxFrame);
    raw.on("violation", (e: Error) => this.event(`link from ${raw.peer}: ${e.message}; closed that link`));
    raw.on("failure", () => undefined);
    const link = await accept(raw, { secret: this.o.secret, node: this.o.name });
    if (!link) {
      this.event(`refused a connection: wrong cluster secret`);
      return;
    }
    if (link.role === "node") {
      let msg: MessageOf<"join">;
      try {
        msg = await link.next(["join"]);
      } catch {
        link.close();
        return;
      }
      const existing = this.membership.members.get(msg.name);
      if (msg.name === this.o.name || (existing && existing.state === "up")) {
        link.send({ t: "refused", reason: `a node named ${msg.name} is already in the cluster` });
        link.close();
        return;
      }
      const list = [
        { name: this.o.name, url: this.url },
        ...this.membership
          .nodes()
          .filter((n) => n.state === "up")
          .map((n) => ({ name: n.name, url: n.url })),
      ];
      link.send({ t: "members", list });
      link.peer = msg.name;
      this.adopt(link, msg.url);
      this.event(`node ${msg.name} joined (${msg.url})`);
      return;
    }
    this.clients.add(link);
    link.on("close", () => {
      this.clients.delete(link);
      for (const p of this.procs.values()) p.watchers.delete(link);
    });
    link.on("message", (m: Message) => void this.onClientMessage(link, m));
  }

  // ---- client requests --------------------------------------------------

  private async onClientMessage(link: Link, m: Message): Promise<void> {
    const fail = (req: number, message: string) => link.send({ t: "error", req, message });
    switch (m.t) {
      case "run":
        return this.runRequest(link, m).catch((e) =>
          fail(m.req, e instanceof MigrantError ? e.message : `internal error: ${(e as Error).message}`),
        );
      case "attach": {
        const p = this.procs.get(m.pid);
        if (!p) return fail(m.req, `no process ${m.pid} on node ${this.o.name}`);
        link.send({ t: "started", req: m.req, pid: m.pid });
        for (const [seq, line] of p.ring) if (seq >= m.from) link.send({ t: "output", pid: m.pid, seq, line });
        if (p.info.state === "running") p.watchers.add(link);
        else link.send({ t: "exited", pid: m.pid, code: p.info.code ?? 1, error: p.info.error ?? "" });
        return;
      }
      case "kill": {
        const p = this.procs.get(m.pid);
        if (!p) return fail(m.req, `no process ${m.pid} on node ${this.o.name}`);
        if (p.info.state !== "running" || !p.process) return fail(m.req, `process ${m.pid} is not running (${p.info.state})`);
        p.watchers.add(link);
        await p.process.kill();
        return;
      }
      case "migrate":
        return this.migrateRequest(link, m).catch((e) => fail(m.req, (e as Error).message));
      case "migrateCancel": {
        const p = this.procs.get(m.pid);
        if (!p?.migrating) return fail(m.req, `process ${m.pid} is not migrating from node ${this.o.name}`);
        p.migrating.cancel = true;
        link.send({ t: "started", req: m.req, pid: m.pid });
        return;
      }
      case "psRequest":
        link.send({ t: "ps", req: m.req, list: this.clusterProcesses() });
        return;
      case "nodesRequest":
        link.send({ t: "nodes", req: m.req, list: [this.selfInfo(), ...this.membership.nodes()] });
        return;
      default:
        link.send({ t: "error", req: 0, message: `a client may not send ${m.t}` });
    }
  }

  private async runRequest(link: Link, m: MessageOf<"run">): Promise<void> {
    const image = await this.moduleFor(link, m.req, m.hash, m.module, () => link.next(["module"], 60_000));
    this.checkCapacity(image);
    const args = Array.isArray(m.args) ? (m.args as unknown[]).map(String) : [];
    const pid = `${this.o.name}.${++this.counter}`;
    const proc = this.newProc(pid, image, { module: m.module, args });
    if (!m.detach) proc.watchers.add(link);
    this.procs.set(pid, proc);
    this.attachProcess(proc, GuestProcess.start(image, { pid, node: this.o.name, args, onOutput: (line) => this.output(pid, line) }));
    this.event(`process ${pid} started: ${[m.module, ...args].join(" ")}`);
    link.send({ t: "started", req: m.req, pid });
  }

  /**
   * The module with this SHA-256: from the cache, or asked of the peer
   * (`needModule` with request id `req`), checked against its hash and cached.
   */
  private async moduleFor(
    link: Link,
    req: number,
    hash: string,
    name: string,
    receive: () => Promise<MessageOf<"module">>,
  ): Promise<Image> {
    const cached = this.modules.get(hash);
    if (cached) return cached;
    link.send({ t: "needModule", req, hash });
    const got = await receive();
    const actual = createHash("sha256").update(got.bytes).digest("hex");
    if (actual !== hash) throw new MigrantError(`the module sent does not match its hash (${actual.slice(0, 12)} != ${hash.slice(0, 12)})`);
    const image = Image.fromBytes(got.bytes, name);
    this.modules.set(hash, image);
    this.event(`module ${name} received (${formatSize(got.bytes.length)}), cached as ${hash.slice(0, 12)}`);
    return image;
  }

  private newProc(pid: string, image: Image, info: Partial<ProcInfo> & { module: string; args: string[] }, uptimeMs = 0): Proc {
    return {
      began: performance.now() - uptimeMs,
      ended: null,
      image,
      process: null,
      watchers: new Set(),
      seq: 0,
      ring: [],
      migrating: null,
      settling: null,
      info: {
        pid,
        node: this.o.name,
        state: "running",
        code: null,
        error: null,
        memory: 0,
        startedAt: Date.now(),
        uptimeMs: 0,
        migrations: 0,
        ...info,
      },
    };
  }

  /** One line of a process's output: numbered, kept for replay, shown here, sent to its watchers. */
  private output(pid: string, line: string): void {
    const p = this.procs.get(pid);
    if (!p) return;
    const seq = ++p.seq;
    p.ring.push([seq, line]);
    if (p.ring.length > RING) p.ring.shift();
    this.o.log(`[${pid}] ${line}`);
    for (const w of p.watchers) w.send({ t: "output", pid, seq, line });
  }

  /** Makes `gp` the process's worker and records how it ends (unless it is let go: migrated or switched). */
  private attachProcess(proc: Proc, gp: GuestProcess): void {
    proc.process = gp;
    const pid = proc.info.pid;
    void gp.exited.then((s) => {
      if (s.outcome === "released" || proc.process !== gp) return;
      proc.info.state = s.outcome === "exited" ? "exited" : s.error === "killed" ? "killed" : "trapped";
      proc.info.code = s.code;
      proc.info.error = s.error;
      proc.ended = performance.now();
      proc.process = null;
      this.event(`process ${pid} ${s.error ? `ended: ${s.error}` : `exited with code ${s.code}`}`);
      for (const w of proc.watchers) w.send({ t: "exited", pid, code: s.code, error: s.error ?? "" });
      proc.watchers.clear();
      this.forgetOldEnded();
    });
  }

  /** Refuses a new process over the limits. */
  private checkCapacity(image: Image): void {
    if (this.stopping) throw new MigrantError(`node ${this.o.name} is stopping and takes no new work`);
    const running = [...this.procs.values()].filter((p) => p.info.state === "running");
    if (running.length >= this.o.maxProcs) {
      throw new MigrantError(`node ${this.o.name} is full: it runs ${running.length} processes, its limit (--max-procs)`);
    }
    const wants = image.layout.maxPages * 65536;
    const committed = running.reduce((a, p) => a + p.image.layout.maxPages * 65536, 0);
    if (committed + wants > this.o.maxMemory) {
      throw new MigrantError(
        `node ${this.o.name} cannot take a guest of up to ${formatSize(wants)}: ${formatSize(committed)} of its ${formatSize(this.o.maxMemory)} (--max-memory) are promised`,
      );
    }
  }

  private forgetOldEnded(): void {
    const ended = [...this.procs.values()].filter((p) => p.info.state !== "running");
    for (const p of ended.slice(0, Math.max(0, ended.length - MAX_ENDED))) this.procs.delete(p.info.pid);
  }

  private ownProcesses(): ProcInfo[] {
    return [...this.procs.values()].map((p) => ({
      ...p.info,
      memory: p.process ? p.process.memory.buffer.byteLength : 0,
      uptimeMs: Math.round((p.ended ?? performance.now()) - p.began),
    }));
  }

  /**
   * Every process of the cluster, once: a process that just moved can be listed
   * by its old node until that node's next heartbeat; the entry with more
   * migrations is the newer one.
   */
  private clusterProcesses(): ProcInfo[] {
    const byPid = new Map<string, ProcInfo>();
    const now = performance.now();
    for (const [pid, d] of this.departed) if (d.until < now) this.departed.delete(pid);
    const departed = [...this.departed.values()].map((d) => d.info);
    for (const p of [...departed, ...this.ownProcesses(), ...this.membership.processes()]) {
      const seen = byPid.get(p.pid);
      if (!seen || p.migrations >= seen.migrations) byPid.set(p.pid, p);
    }
    return [...byPid.values()];
  }

  private memoryInUse(): number {
    return this.ownProcesses().reduce((a, p) => a + p.memory, 0);
  }

  private selfInfo(): NodeInfo {
    const procs = this.ownProcesses();
    return {
      name: this.o.name,
      url: this.url,
      state: "up",
      load: procs.filter((p) => p.state === "running").length,
      procs: procs.length,
      memory: this.memoryInUse(),
      maxMemory: this.o.maxMemory,
      silentMs: 0,
      reason: null,
    };
  }

  // ---- live migration ---------------------------------------------------

  private async migrateRequest(client: Link, m: MessageOf<"migrate">): Promise<void> {
    const proc = this.procs.get(m.pid);
    if (!proc) throw new MigrantError(`no process ${m.pid} on node ${this.o.name}`);
    if (proc.settling) {
      const ok = await Promise.race([
        proc.settling.then(() => true),
        new Promise<false>((r) => setTimeout(() => r(false), SETTLE_WAIT_MS)),
      ]);
      if (!ok)
        throw new MigrantError(
          `process ${m.pid} is still receiving its pages from its last post-copy migration; migrate it once they have arrived`,
        );
    }
    if (proc.info.state !== "running" || !proc.process) throw new MigrantError(`process ${m.pid} is not running (${proc.info.state})`);
    if (proc.migrating) throw new MigrantError(`process ${m.pid} is already migrating`);
    if (m.to === this.o.name) throw new MigrantError(`process ${m.pid} already runs on ${m.to}`);
    const member = this.membership.members.get(m.to);
    if (!member || member.state !== "up" || !member.link?.open) {
      throw new MigrantError(`node ${m.to} is not an up member of the cluster (see \`migrant nodes\`)`);
    }
    const options = parseOptions(m.options);
    const mid = ++this.migrations;
    const mailbox = new Mailbox();
    this.outgoing.set(mid, { mailbox, peer: m.to });
    proc.migrating = { mid, cancel: false };
    let lastProgress = 0;
    const pid = proc.info.pid;
    const stats = await emigrate({
      mid,
      link: member.link,
      mailbox,
      pid,
      module: proc.info.module,
      image: proc.image,
      info: {
        args: proc.info.args,
        module: proc.info.module,
        startedAt: proc.info.startedAt,
        migrations: proc.info.migrations,
        uptimeMs: Math.round(performance.now() - proc.began),
        memoryPages: proc.process.memory.buffer.byteLength / 65536,
      },
      from: this.o.name,
      to: m.to,
      options,
      getProcess: () => {
        if (!proc.process) throw new MigrationFailed("the process ended before it could move");
        return proc.process;
      },
      setProcess: (p) => this.attachProcess(proc, p),
      seq: () => proc.seq,
      onHandover: () => {
        this.procs.delete(pid);
        const info = {
          ...proc.info,
          node: m.to,
          migrations: proc.info.migrations + 1,
          uptimeMs: Math.round(performance.now() - proc.began),
        };
        this.departed.set(pid, { info, until: performance.now() + 10 * this.o.heartbeatMs });
        for (const w of proc.watchers) w.send({ t: "moved", pid, node: m.to, url: member.url });
        proc.watchers.clear();
      },
      progress: (p) => {
        if (performance.now() - lastProgress < 100) return;
        lastProgress = performance.now();
        client.send({ t: "migProgress", req: m.req, progress: p });
      },
      cancelled: () => proc.migrating?.cancel === true,
      corruptBatch: Number(process.env.MIGRANT_TEST_CORRUPT_BATCH) || undefined,
    });
    this.outgoing.delete(mid);
    proc.migrating = null;
    if (stats.result === "completed") {
      this.event(
        `process ${pid} left for ${m.to} (${stats.strategy}, downtime ${stats.downtimeMs.toFixed(2)} ms, ${formatSize(stats.bytesSent)} sent)`,
      );
    } else {
      this.event(`migration of ${pid} to ${m.to} ${stats.result}: ${stats.error}`);
    }
    client.send({ t: "migResult", req: m.req, stats });
  }

  private toDestination(link: Link, m: Message): void {
    const mid = "mid" in m ? m.mid : (m as MessageOf<"module">).req;
    const key = `${link.peer}:${mid}`;
    const incoming = this.incoming.get(key);
    switch (m.t) {
      case "migBegin":
        void this.beginImmigration(link, m, key).catch((e) => {
          link.send({ t: "migRefuse", mid: m.mid, reason: (e as Error).message });
          this.incoming.delete(key);
        });
        return;
      case "module":
        incoming?.mailbox.deliver(m);
        return;
      case "migPages":
        incoming?.immigration?.pages(m);
        return;
      case "migHandover":
        if (!incoming?.immigration) return;
        void incoming.immigration.handover(m).catch((e) => incoming.immigration?.refuse((e as Error).message));
        return;
      case "migSync":
        // in order on this link: every batch sent before it is installed by now
        if (incoming?.immigration) link.send({ t: "migSynced", mid: m.mid });
        return;
      case "migAbort":
        incoming?.immigration?.discard(`the source aborted: ${m.reason}`);
        this.incoming.delete(key);
        return;
    }
  }

  /**
   * Once a post-copy arrival has all its pages, the presence barrier has
   * nothing left to do: switch to the plain variant (warm worker, one short
   * freeze) so that the process stops paying for it.
   */
  private async backToPlain(proc: Proc): Promise<void> {
    try {
      const gp = proc.process;
      if (!gp?.running) return;
      const next = await gp.toVariant("plain");
      if (next && proc.process === gp) this.attachProcess(proc, next);
    } catch (e) {
      this.event(`process ${proc.info.pid} keeps its post-copy variant: ${(e as Error).message}`);
    } finally {
      proc.settling = null;
    }
  }

  private async beginImmigration(link: Link, m: MessageOf<"migBegin">, key: string): Promise<void> {
    const entry: Incoming = { mailbox: new Mailbox(), immigration: null };
    this.incoming.set(key, entry);
    const image = await this.moduleFor(link, m.mid, m.hash, m.module, () => entry.mailbox.next(["module"], 60_000));
    this.checkCapacity(image);
    if (this.procs.get(m.pid)?.info.state === "running") throw new MigrantError(`a process ${m.pid} already runs on ${this.o.name}`);
    const info = m.info as {
      args: string[];
      module: string;
      startedAt: number;
      migrations: number;
      uptimeMs: number;
      memoryPages: number;
      strategy: string;
    };
    const variant = info.strategy === "postcopy" || info.strategy === "hybrid" ? "postcopy" : "plain";
    const img = image;
    entry.immigration = new Immigration({
      mid: m.mid,
      link,
      image: img,
      pid: m.pid,
      node: this.o.name,
      args: info.args,
      variant,
      memoryPages: info.memoryPages,
      onOutput: (line) => this.output(m.pid, line),
      onArrived: (gp, seq) => {
        const proc = this.newProc(
          m.pid,
          img,
          { module: info.module, args: info.args, startedAt: info.startedAt, migrations: info.migrations + 1 },
          info.uptimeMs,
        );
        proc.seq = seq;
        this.procs.set(m.pid, proc);
        this.attachProcess(proc, gp);
        this.event(`process ${m.pid} arrived from ${link.peer} (${info.strategy})`);
        if (variant !== "plain") proc.settling = entry.immigration!.settled.then(() => this.backToPlain(proc));
      },
      onDiscarded: (reason) => {
        this.event(`incoming migration of ${m.pid} from ${link.peer} dropped: ${reason}`);
        this.incoming.delete(key);
      },
    });
    // accept once the worker is warm, so that the handover costs no start-up
    await entry.immigration.proc.ready;
    link.send({ t: "migAccept", mid: m.mid });
  }

  /** Stops cleanly: refuses new work, says which processes die with it, tells the others. */
  async stop(reason = "stopped"): Promise<string[]> {
    if (this.stopping) return [];
    this.stopping = true;
    const dying = [...this.procs.values()].filter((p) => p.info.state === "running");
    const pids = dying.map((p) => p.info.pid);
    this.event(
      `stopping (${reason}): taking no new work; ` +
        (pids.length ? `these processes die with this node: ${pids.join(", ")}` : "no processes die with it"),
    );
    await Promise.all(dying.map((p) => p.process?.kill()));
    await new Promise((r) => setImmediate(r)); // let the exits land in the table
    this.beat(); // the others learn how each process ended, rather than calling them lost
    for (const link of this.membership.links()) {
      link.send({ t: "bye", reason });
      link.close(CLOSE_LEAVING, reason);
    }
    await this.shutdown();
    return pids;
  }
}
