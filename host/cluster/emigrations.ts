// Migrations that leave this node: a client's `migrate` request (and its
// `migrateCancel`) for a process that runs here, and the destination's
// answers, routed to that migration by its id. The migration itself is
// migration/source/emigrate.ts; this part gives it the process and moves the
// process out of the table once the destination runs it. A migration whose
// destination goes away fails (and is rolled back, unless the handover had
// left: then the process is in doubt and is not resumed here). A destination's
// message counts only from that migration's destination. The balancer
// (policy/) starts its moves through move(), as a client's request does,
// without a client link: it learns the outcome from the statistics returned.

import { RequestError } from "../errors.js";
import type { MessageLink } from "../net/link.js";
import type { MessageOf } from "../net/protocol.js";
import type { MigrationOptions, Progress } from "../migration/options.js";
import { Mailbox } from "../migration/mailbox.js";
import { emigrate, MigrationFailed, type EmigrationContext } from "../migration/source/emigrate.js";
import { withDefaults, type MigrationStats } from "../migration/options.js";
import { memoryPages } from "../memory/pages.js";
import { formatSize } from "../text/size.js";
import type { ClusterView } from "./cluster-view.js";
import type { Peers } from "./peers.js";
import type { Proc, ProcessTable } from "./processes.js";
import type { Router } from "./router.js";
import type { PostOffice } from "./messaging/post-office.js";
import { OnceLog } from "./once-log.js";

/** How long a migration request waits for a post-copy arrival to have all its pages. */
export const SETTLE_WAIT_MS = 30_000;
/** At most one progress report per this many ms to the client. */
const PROGRESS_EVERY_MS = 100;
/** A migration that sent less measured its latency more than the link's rate. */
const RATE_BYTES = 8 * 1024 * 1024;
const RATES = 256;
/** How many ended migrations are remembered, so that a late answer for one is not logged as a stray. */
const RECENT_ENDED = 64;
/** The destination's messages to the source of a migration. */
const FROM_DESTINATION = [
  "migAccept",
  "migRefuse",
  "needModule",
  "migResumed",
  "migFault",
  "migDone",
  "migSynced",
  "migInstalled",
] as const;

/** What a move is asked: the process, the destination node, the options, and who hears its progress. */
interface MoveRequest {
  pid: string;
  to: string;
  options: Partial<MigrationOptions>;
  progress: (p: Progress) => void;
}

/** A migration leaving: the process, its id and mailbox, the destination, the request. */
interface Leaving {
  proc: Proc;
  mid: number;
  mailbox: Mailbox;
  /** the destination: its address (for the watchers) and the link to it */
  to: { url: string; link: MessageLink };
  request: MoveRequest;
}

export class Emigrations {
  private readonly outgoing = new Map<number, { mailbox: Mailbox; peer: string }>();
  private mid = 0;
  /** the last migrations that ended (a late answer for one of them is no stray) */
  private readonly ended: number[] = [];
  private readonly strays: OnceLog;
  /** what the last freeze or pre-copy to each node that sent at least RATE_BYTES achieved, MB/s (--strategy auto's link rate) */
  private readonly rates = new Map<string, number>();

  constructor(
    private readonly node: string,
    private readonly table: ProcessTable,
    private readonly peers: Peers,
    private readonly view: ClusterView,
    private readonly event: (line: string) => void,
    router: Router,
    private readonly post: PostOffice,
  ) {
    this.strays = new OnceLog(event);
    router.on("client", "migrate", (link, m) => this.migrate(link, m));
    router.on("client", "migrateCancel", (link, m) => this.cancel(link, m));
    for (const type of FROM_DESTINATION) router.on("node", type, (link, m) => this.deliver(link, m));
    peers.onGone((peer) => {
      for (const o of this.outgoing.values()) if (o.peer === peer) o.mailbox.fail(new MigrationFailed(`node ${peer} went away`));
    });
  }

  /**
   * A destination's message, to its migration: only from that migration's
   * destination. One for a migration not under way here is dropped, silently
   * if it ended a moment ago (an answer to the rollback's migAbort), else
   * with one log line per migration.
   */
  private deliver(link: MessageLink, m: MessageOf<(typeof FROM_DESTINATION)[number]>): void {
    // needModule names the migration by its request id
    const mid = m.t === "needModule" ? m.req : m.mid;
    const o = this.outgoing.get(mid);
    if (o && o.peer === link.peer) return o.mailbox.deliver(m);
    if (!o && this.ended.includes(mid)) return;
    const why = o ? `which goes to ${o.peer}` : "which is not under way here";
    this.strays.once(`${link.peer}:${mid}`, `${m.t} from node ${link.peer} for migration ${mid}, ${why}; ignored`);
  }

  private cancel(link: MessageLink, m: MessageOf<"migrateCancel">): void {
    const p = this.table.get(m.pid);
    if (!p?.migrating) throw new RequestError("not-running", `process ${m.pid} is not migrating from node ${this.node}`);
    p.migrating.cancel = true;
    link.send({ t: "started", req: m.req, pid: m.pid });
  }

  /** The process, once it may move: here, running, not moving already, not still receiving its own pages. */
  private async movable(m: Pick<MoveRequest, "pid" | "to">): Promise<Proc> {
    const proc = this.table.get(m.pid);
    if (!proc) throw new RequestError("no-such-process", `no process ${m.pid} on node ${this.node}`);
    if (proc.settling) {
      const ok = await Promise.race([
        proc.settling.then(() => true),
        new Promise<false>((r) => setTimeout(() => r(false), SETTLE_WAIT_MS)),
      ]);
      if (!ok)
        throw new RequestError(
          "busy",
          `process ${m.pid} is still receiving its pages from its last post-copy migration; migrate it once they have arrived`,
        );
    }
    if (proc.info.state !== "running" || !proc.process)
      throw new RequestError("not-running", `process ${m.pid} is not running (${proc.info.state})`);
    if (proc.migrating) throw new RequestError("busy", `process ${m.pid} is already migrating`);
    if (m.to === this.node) throw new RequestError("bad-request", `process ${m.pid} already runs on ${m.to}`);
    return proc;
  }

  private async migrate(client: MessageLink, m: MessageOf<"migrate">): Promise<void> {
    const progress = (p: Progress) => client.send({ t: "migProgress", req: m.req, progress: p });
    const stats = await this.move({ pid: m.pid, to: m.to, options: m.options, progress });
    client.send({ t: "migResult", req: m.req, stats });
  }

  /**
   * Moves a process of this node to node `to`; resolves with the statistics
   * once the move completed, failed (rolled back: the process runs on here) or
   * was cancelled. Rejects with a RequestError if it may not move now.
   */
  async move(r: MoveRequest): Promise<MigrationStats> {
    const proc = await this.movable(r);
    const member = this.peers.membership.up(r.to);
    if (!member?.link) throw new RequestError("no-such-node", `node ${r.to} is not an up member of the cluster (see \`migrant nodes\`)`);
    const mid = ++this.mid;
    const mailbox = new Mailbox();
    this.outgoing.set(mid, { mailbox, peer: r.to });
    proc.migrating = { mid, cancel: false };
    let stats: MigrationStats;
    try {
      stats = await emigrate(this.context({ proc, mid, mailbox, to: { url: member.url, link: member.link }, request: r }));
    } finally {
      this.outgoing.delete(mid);
      this.ended.push(mid);
      if (this.ended.length > RECENT_ENDED) this.ended.shift();
      proc.migrating = null;
      this.post.stayed(proc.info.pid); // not handed over: what waited for it is its own again
    }
    const { pid } = proc.info;
    // a stream's rate (post-copy's push goes slower on purpose: its window)
    const streamed = stats.strategy === "freeze" || stats.strategy === "precopy";
    if (stats.result === "completed" && streamed && stats.bytesSent >= RATE_BYTES) this.rememberRate(r.to, stats.mbps);
    if (stats.result === "completed") {
      this.event(
        `process ${pid} left for ${r.to} (${stats.strategy}, downtime ${stats.downtimeMs.toFixed(2)} ms, ${formatSize(stats.bytesSent)} sent)`,
      );
    } else {
      this.event(`migration of ${pid} to ${r.to} ${stats.result}: ${stats.error}`);
    }
    return stats;
  }

  /** The link rate to `to` as its last large migration found it (at most RATES nodes remembered, the oldest forgotten). */
  private rememberRate(to: string, mbps: number): void {
    this.rates.delete(to);
    this.rates.set(to, mbps);
    if (this.rates.size > RATES) this.rates.delete(this.rates.keys().next().value!);
  }

  /** What the migration of a process of this node is given (migration/source/emigration.ts). */
  private context({ proc, mid, mailbox, to, request: m }: Leaving): EmigrationContext {
    const pid = proc.info.pid;
    let lastProgress = 0;
    return {
      mid,
      link: to.link,
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
        memoryPages: memoryPages(proc.process!.memory),
        name: proc.mail.name,
      },
      from: this.node,
      to: m.to,
      options: withDefaults(m.options),
      getProcess: () => {
        if (!proc.process) throw new MigrationFailed("the process ended before it could move");
        return proc.process;
      },
      setProcess: (p) => this.table.adopt(proc, p),
      seq: () => proc.output.seq,
      onHandover: () => this.handedOver(proc, m.to, to.url),
      onInDoubt: (reason) => this.inDoubt(proc, m.to, to.url, reason),
      mail: { leaving: () => this.post.leaving(proc, m.to), travelling: (cursor) => this.post.travelling(proc, cursor) },
      progress: (p) => {
        if (performance.now() - lastProgress < PROGRESS_EVERY_MS) return;
        lastProgress = performance.now();
        m.progress(p);
      },
      cancelled: () => proc.migrating?.cancel === true,
      linkMBps: this.rates.get(m.to),
      corruptBatch: Number(process.env.MIGRANT_TEST_CORRUPT_BATCH) || undefined,
    };
  }

  /**
   * The handover went and the destination never said whether it runs the
   * process: it is let go here, listed as lost with why (an entry of the
   * destination's, should it run there, has one more migration and wins in
   * ps); its watchers and its messages go where it most likely runs.
   */
  private inDoubt(proc: Proc, to: string, url: string, reason: string): void {
    const pid = proc.info.pid;
    Object.assign(proc.info, { state: "lost", code: null, error: reason });
    proc.process = null;
    proc.ended = performance.now();
    this.event(`process ${pid} is in doubt: ${reason}`);
    for (const w of proc.watchers) w.send({ t: "moved", pid, node: to, url });
    proc.watchers.clear();
    this.post.left(pid, to, proc.info.migrations + 1);
  }

  /** The destination runs the process: it leaves the table, its watchers follow it there. */
  private handedOver(proc: Proc, to: string, url: string): void {
    const pid = proc.info.pid;
    this.table.remove(pid);
    this.view.departedTo({ ...this.table.info(proc), node: to, migrations: proc.info.migrations + 1 });
    for (const w of proc.watchers) w.send({ t: "moved", pid, node: to, url });
    proc.watchers.clear();
    this.post.left(pid, to, proc.info.migrations + 1);
  }
}
