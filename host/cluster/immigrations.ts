// Migrations that arrive at this node: the source's messages, routed to the
// migration they belong to by source node and migration id. `migBegin` is
// checked (its values: migration/arrival-checks.ts; the module, by hash, asked
// for if not cached; the limits; no process of that pid running or arriving
// here) and answered once a warm worker is ready; the pages, the handover and
// the rest go to the migration itself (migration/destination.ts). When it has
// arrived the process joins the table with the mailbox it brought; a post-copy
// arrival goes back to the plain variant once every page is here. Messages for
// the process wait from migBegin until it runs here
// (cluster/messaging/post-office.ts). A source that goes away before the
// handover takes the migration with it; during post-copy it stops the process
// with an error that says so.
//
// A value no honest source sends refuses the migration and closes that link
// (a ProtocolError, through the router): a migration id reused while it is
// under way, a page or a memory size outside the module, a handover that
// does not fit. A message for a migration that is not under way here is
// dropped: silently if it ended a moment ago (a batch that was on its way),
// else with one log line per migration. How each migration ended is kept for
// a while, so that a source that did not hear migResumed and asks (migAbort
// after its handover) is told whether the process runs here.

import { reclaimSoon } from "../memory/reclaim.js";
import { MigrantError, RequestError } from "../errors.js";
import type { MessageLink } from "../net/link.js";
import { ProtocolError, type MessageOf } from "../net/protocol.js";
import { Mailbox } from "../migration/mailbox.js";
import { Immigration } from "../migration/destination.js";
import { checkBegin, checkBeginMemory } from "../migration/arrival-checks.js";
import { ARRIVAL_MEMORY_MS } from "../migration/timeouts.js";
import type { Capacity } from "./capacity.js";
import { MODULE_WAIT_MS, type ModuleCache } from "./modules.js";
import type { Peers } from "./peers.js";
import type { Proc, ProcessTable } from "./processes.js";
import type { Router } from "./router.js";
import type { PostOffice } from "./messaging/post-office.js";
import { messageOf } from "../text/thrown.js";
import { OnceLog } from "./once-log.js";

interface Incoming {
  pid: string;
  /** the module, should the source be asked for it */
  mailbox: Mailbox;
  immigration: Immigration | null;
}

/** Migrations that ended here, remembered (at most this many) for ARRIVAL_MEMORY_MS. */
const REMEMBERED = 10_000;

export class Immigrations {
  private readonly incoming = new Map<string, Incoming>();
  /** how recent migrations ended here, by key: when the guest ran here (epoch ms), or null if it never did */
  private readonly ended = new Map<string, { ranAt: number | null; until: number }>();
  private readonly unknown: OnceLog;

  constructor(
    private readonly node: string,
    private readonly table: ProcessTable,
    private readonly modules: ModuleCache,
    private readonly capacity: Capacity,
    private readonly event: (line: string) => void,
    router: Router,
    peers: Peers,
    private readonly post: PostOffice,
  ) {
    this.unknown = new OnceLog(event);
    router.on("node", "migBegin", (link, m) => this.begin(link, m, key(link, m.mid)));
    // the module for a migration's needModule (its request id is the migration id)
    router.on("node", "module", (link, m) => this.find(link, m.req, m.t)?.mailbox.deliver(m));
    router.on("node", "migPages", (link, m) => {
      const immigration = this.find(link, m.mid, m.t)?.immigration;
      try {
        immigration?.pages(m);
      } catch (e) {
        immigration?.fail(e instanceof ProtocolError ? e.message : `a page batch could not be installed: ${messageOf(e)}`);
        if (e instanceof ProtocolError) throw e;
      }
    });
    router.on("node", "migHandover", (link, m) => {
      const immigration = this.find(link, m.mid, m.t)?.immigration;
      return immigration?.handover(m).catch((e: unknown) => {
        if (!immigration.ran) immigration.refuse(messageOf(e));
        if (e instanceof ProtocolError || !immigration.ran) throw e;
        this.event(`migration ${m.mid} from ${link.peer}: the process runs here, but its arrival failed: ${messageOf(e)}`);
      });
    });
    router.on("node", "migSync", (link, m) => {
      // in order on this link: every batch sent before it is installed by now
      if (this.find(link, m.mid, m.t)?.immigration) link.send({ t: "migSynced", mid: m.mid });
    });
    router.on("node", "migAbort", (link, m) => this.abort(link, m));
    peers.onGone((peer) => this.sourceGone(peer));
  }

  /** The migration a message of the source is for, or undefined (logged once per migration, unless it ended a moment ago). */
  private find(link: MessageLink, mid: number, type: string): Incoming | undefined {
    const k = key(link, mid);
    const entry = this.incoming.get(k);
    if (entry) {
      entry.immigration?.heard();
      return entry;
    }
    if (!this.recall(k)) this.unknown.once(k, `${type} from node ${link.peer} for migration ${mid}, which is not under way here; ignored`);
    return undefined;
  }

  /** How a migration that is over here ended, if it ended within ARRIVAL_MEMORY_MS. */
  private recall(k: string): { ranAt: number | null } | undefined {
    const now = performance.now();
    for (const [old, e] of this.ended) {
      if (e.until > now && this.ended.size <= REMEMBERED) break;
      this.ended.delete(old);
    }
    return this.ended.get(k);
  }

  private remember(k: string, ranAt: number | null): void {
    this.ended.delete(k);
    this.ended.set(k, { ranAt, until: performance.now() + ARRIVAL_MEMORY_MS });
    this.recall(k);
  }

  /**
   * migAbort: before the handover, the source gives up (nothing answers). After
   * it (the source heard no migResumed), the source asks whether the process
   * runs here: migResumed if it does, migRefuse if it does not (and then never will).
   */
  private abort(link: MessageLink, m: MessageOf<"migAbort">): void {
    const k = key(link, m.mid);
    const entry = this.incoming.get(k);
    if (entry?.immigration) return entry.immigration.abort(m.reason);
    if (entry) {
      // still preparing (the module, the warm worker): prepare() sees it is no longer wanted
      this.incoming.delete(k);
      entry.mailbox.fail(new MigrantError(`the source aborted: ${m.reason}`));
      return;
    }
    const ended = this.recall(k);
    if (ended && ended.ranAt !== null) link.send({ t: "migResumed", mid: m.mid, at: ended.ranAt });
    else
      link.send({
        t: "migRefuse",
        mid: m.mid,
        reason: `migration ${m.mid} is not under way on ${this.node}; the process does not run here`,
      });
  }

  private sourceGone(peer: string): void {
    for (const [k, i] of this.incoming) {
      if (!k.startsWith(`${peer}:`)) continue;
      i.mailbox.fail(new MigrantError(`node ${peer} went away`));
      i.immigration?.sourceLost();
      if (!i.immigration?.ran) this.incoming.delete(k);
    }
  }

  private async begin(link: MessageLink, m: MessageOf<"migBegin">, k: string): Promise<void> {
    // a second migration of one id is no honest source's: not refused by that id (the first one has it), its link is closed
    if (this.incoming.has(k)) throw new ProtocolError("field", `migBegin.mid: migration ${m.mid} is under way already`);
    const entry: Incoming = { pid: m.pid, mailbox: new Mailbox(1), immigration: null };
    const arriving = [...this.incoming.values()].some((e) => e.pid === m.pid);
    this.incoming.set(k, entry);
    try {
      checkBegin(m);
      if (arriving) throw new RequestError("busy", `process ${m.pid} is arriving at ${this.node} already`);
      // migrations still waiting for their module hold one each (up to --max-frame): no more of them than processes the node may run
      this.capacity.checkArrivals([...this.incoming.values()].filter((e) => e !== entry && !e.immigration?.ran).length);
      await this.prepare(link, m, k, entry);
    } catch (e) {
      link.send({ t: "migRefuse", mid: m.mid, reason: messageOf(e) });
      if (this.incoming.get(k) === entry) this.incoming.delete(k);
      this.remember(k, null);
      if (entry.immigration) entry.immigration.discard(messageOf(e));
      else if (!arriving) this.post.notArriving(m.pid);
      if (e instanceof ProtocolError) throw e;
    }
  }

  /** Checks the request, starts a warm worker, and accepts once it is ready (the handover then costs no start-up). */
  private async prepare(link: MessageLink, m: MessageOf<"migBegin">, k: string, entry: Incoming): Promise<void> {
    const image = await this.modules.get(link, m.mid, m.hash, m.module, () => entry.mailbox.next(["module"], MODULE_WAIT_MS));
    if (this.incoming.get(k) !== entry) throw new MigrantError("the source gave up");
    checkBeginMemory(m, image.layout);
    // the warm workers of migrations still arriving count: a peer cannot open more of them than the node may run
    const arriving = [...this.incoming.values()].filter((e) => e.immigration && !e.immigration.ran);
    const bytes = arriving.reduce((a, e) => a + e.immigration!.maxBytes, 0);
    this.capacity.check(image, { procs: arriving.length, bytes });
    if (this.table.get(m.pid)?.info.state === "running") throw new RequestError("busy", `a process ${m.pid} already runs on ${this.node}`);
    const info = m.info;
    const variant = info.strategy === "postcopy" || info.strategy === "hybrid" ? "postcopy" : "plain";
    this.post.arriving(m.pid, info.name);
    let arrived: Proc | null = null;
    const immigration = new Immigration({
      mid: m.mid,
      link,
      image,
      pid: m.pid,
      node: this.node,
      args: info.args,
      variant,
      memoryPages: info.memoryPages,
      onOutput: (line) => this.table.print(m.pid, line),
      onMail: this.table.guestMail(m.pid),
      mailCapacity: this.table.mailCapacity,
      onArrived: (gp, seq, mail) => {
        const proc = this.table.add(
          image,
          { pid: m.pid, module: info.module, args: info.args, startedAt: info.startedAt, migrations: info.migrations + 1 },
          info.uptimeMs,
          seq,
          mail,
        );
        this.table.adopt(proc, gp);
        this.post.arrived(proc);
        this.event(`process ${m.pid} arrived from ${link.peer} (${info.strategy})`);
        arrived = proc;
        if (variant !== "plain")
          proc.settling = immigration.settled.then(() => {
            proc.settling = null;
          });
      },
      switchBack: async () => (arrived ? this.backToPlain(arrived) : null),
      onDiscarded: (reason) => {
        this.event(`incoming migration of ${m.pid} from ${link.peer} dropped: ${reason}`);
        if (this.incoming.get(k) === entry) this.incoming.delete(k);
        this.remember(k, null);
      },
    });
    entry.immigration = immigration;
    // arrived with every page, or gone: nothing more comes for it
    void immigration.settled.then(() => {
      if (this.incoming.get(k) === entry) this.incoming.delete(k);
      this.remember(k, immigration.ranAt);
      // however it ended (arrived, discarded, its source gone): nothing more waits for it here
      this.post.notArriving(m.pid);
      reclaimSoon(); // the batches it came in are garbage now
    });
    await immigration.proc.ready;
    if (this.incoming.get(k) !== entry) throw new MigrantError("the source gave up");
    link.send({ t: "migAccept", mid: m.mid });
  }

  /**
   * Once a post-copy arrival has all its pages, the presence barrier has
   * nothing left to do: switch to the plain variant (warm worker, one short
   * freeze) so that the process stops paying for it. Resolves with the pause
   * its guest saw (ms), or null if it did not switch.
   */
  private async backToPlain(proc: Proc): Promise<number | null> {
    try {
      const gp = proc.process;
      if (!gp?.running) return null;
      const next = await gp.toVariant("plain");
      if (next && proc.process === gp) this.table.adopt(proc, next);
      else if (next && next !== gp) await next.kill("its process has another worker now");
      return next && next !== gp ? next.switchPauseMs : null;
    } catch (e) {
      this.event(`process ${proc.info.pid} keeps its post-copy variant: ${messageOf(e)}`);
      return null;
    }
  }
}

const key = (link: MessageLink, mid: number) => `${link.peer}:${mid}`;
