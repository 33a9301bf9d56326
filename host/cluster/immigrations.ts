// Migrations that arrive at this node: the source's messages, routed to the
// migration they belong to by source node and migration id. `migBegin` is
// checked (the module, by hash, asked for if not cached; the limits; no
// process of that pid running here) and answered once a warm worker is ready;
// the pages, the handover and the rest go to the migration itself
// (migration/destination.ts). When it has arrived the process joins the
// table with the mailbox it brought; a post-copy arrival goes back to the
// plain variant once every page is here. Messages for the process wait from
// migBegin until it runs here (cluster/messaging/post-office.ts). A source that goes away before the handover takes the migration
// with it; during post-copy it stops the process with an error that says so.

import { MigrantError, RequestError } from "../errors.js";
import type { MessageLink } from "../net/link.js";
import type { MessageOf } from "../net/protocol.js";
import { Mailbox } from "../migration/mailbox.js";
import { Immigration } from "../migration/destination.js";
import type { Capacity } from "./capacity.js";
import { MODULE_WAIT_MS, type ModuleCache } from "./modules.js";
import type { Peers } from "./peers.js";
import type { Proc, ProcessTable } from "./processes.js";
import type { Router } from "./router.js";
import type { PostOffice } from "./messaging/post-office.js";

interface Incoming {
  /** the module, should the source be asked for it */
  mailbox: Mailbox;
  immigration: Immigration | null;
}

export class Immigrations {
  private readonly incoming = new Map<string, Incoming>();

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
    const key = (link: MessageLink, mid: number) => `${link.peer}:${mid}`;
    router.on("node", "migBegin", (link, m) => this.begin(link, m, key(link, m.mid)));
    // the module for a migration's needModule (its request id is the migration id)
    router.on("node", "module", (link, m) => this.incoming.get(key(link, m.req))?.mailbox.deliver(m));
    router.on("node", "migPages", (link, m) => {
      const immigration = this.incoming.get(key(link, m.mid))?.immigration;
      try {
        immigration?.pages(m);
      } catch (e) {
        immigration?.refuse(`a page batch could not be installed: ${(e as Error).message}`);
      }
    });
    router.on("node", "migHandover", (link, m) => {
      const immigration = this.incoming.get(key(link, m.mid))?.immigration;
      return immigration?.handover(m).catch((e: Error) => immigration.refuse(e.message));
    });
    router.on("node", "migSync", (link, m) => {
      // in order on this link: every batch sent before it is installed by now
      if (this.incoming.get(key(link, m.mid))?.immigration) link.send({ t: "migSynced", mid: m.mid });
    });
    router.on("node", "migAbort", (link, m) => {
      this.incoming.get(key(link, m.mid))?.immigration?.discard(`the source aborted: ${m.reason}`);
      this.incoming.delete(key(link, m.mid));
    });
    peers.onGone((peer) => this.sourceGone(peer));
  }

  private sourceGone(peer: string): void {
    for (const [key, i] of this.incoming) {
      if (!key.startsWith(`${peer}:`)) continue;
      i.mailbox.fail(new MigrantError(`node ${peer} went away`));
      i.immigration?.sourceLost();
      this.incoming.delete(key);
    }
  }

  private async begin(link: MessageLink, m: MessageOf<"migBegin">, key: string): Promise<void> {
    const entry: Incoming = { mailbox: new Mailbox(), immigration: null };
    this.incoming.set(key, entry);
    try {
      await this.prepare(link, m, key, entry);
    } catch (e) {
      link.send({ t: "migRefuse", mid: m.mid, reason: (e as Error).message });
      this.incoming.delete(key);
      if (entry.immigration) entry.immigration.discard((e as Error).message);
      else this.post.notArriving(m.pid);
    }
  }

  /** Checks the request, starts a warm worker, and accepts once it is ready (the handover then costs no start-up). */
  private async prepare(link: MessageLink, m: MessageOf<"migBegin">, key: string, entry: Incoming): Promise<void> {
    const image = await this.modules.get(link, m.mid, m.hash, m.module, () => entry.mailbox.next(["module"], MODULE_WAIT_MS));
    this.capacity.check(image);
    if (this.table.get(m.pid)?.info.state === "running") throw new RequestError("busy", `a process ${m.pid} already runs on ${this.node}`);
    const info = m.info;
    const variant = info.strategy === "postcopy" || info.strategy === "hybrid" ? "postcopy" : "plain";
    this.post.arriving(m.pid, info.name);
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
        if (variant !== "plain") proc.settling = immigration.settled.then(() => this.backToPlain(proc));
      },
      onDiscarded: (reason) => {
        this.event(`incoming migration of ${m.pid} from ${link.peer} dropped: ${reason}`);
        this.incoming.delete(key);
      },
    });
    entry.immigration = immigration;
    // arrived with every page, or gone: nothing more comes for it
    void immigration.settled.then(() => {
      if (this.incoming.get(key) === entry) this.incoming.delete(key);
      // however it ended (arrived, discarded, its source gone): nothing more waits for it here
      this.post.notArriving(m.pid);
    });
    await immigration.proc.ready;
    link.send({ t: "migAccept", mid: m.mid });
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
      if (next && proc.process === gp) this.table.adopt(proc, next);
      else if (next && next !== gp) await next.kill("its process has another worker now");
    } catch (e) {
      this.event(`process ${proc.info.pid} keeps its post-copy variant: ${(e as Error).message}`);
    } finally {
      proc.settling = null;
    }
  }
}
