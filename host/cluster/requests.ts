// A node's answers to its clients' requests about processes: run a module
// here (sent once, then cached by its SHA-256), attach to a process's output,
// kill it, and the cluster-wide `ps` and `nodes`. Clients talk to the node a
// process runs on directly for attach and kill (the client library finds it);
// any node answers ps and nodes. Migration requests are emigrations.ts's.

import { RequestError } from "../errors.js";
import { LinkError, type MessageLink } from "../net/link.js";
import { Mailbox } from "../migration/mailbox.js";
import type { MessageOf } from "../net/protocol.js";
import type { Capacity } from "./capacity.js";
import type { ClusterView } from "./cluster-view.js";
import { MODULE_WAIT_MS, type ModuleCache } from "./modules.js";
import type { ProcessTable } from "./processes.js";
import type { Router } from "./router.js";
import { argsProblem, moduleNameProblem } from "../migration/arrival-checks.js";

export class Requests {
  /** runs waiting for the module they asked their client for, by client and request id */
  private readonly awaiting = new Map<MessageLink, Map<number, Mailbox>>();

  constructor(
    private readonly node: string,
    private readonly table: ProcessTable,
    private readonly modules: ModuleCache,
    private readonly capacity: Capacity,
    private readonly view: ClusterView,
    router: Router,
  ) {
    router.on("client", "run", (link, m) => this.run(link, m));
    router.on("client", "module", (link, m) => this.awaiting.get(link)?.get(m.req)?.deliver(m));
    router.on("client", "attach", (link, m) => this.attach(link, m));
    router.on("client", "kill", (link, m) => this.kill(link, m));
    router.on("client", "psRequest", async (link, m) => link.send({ t: "ps", req: m.req, list: await this.view.processes() }));
    router.on("client", "nodesRequest", (link, m) => link.send({ t: "nodes", req: m.req, list: this.view.nodes() }));
  }

  /** A client went away: the runs that waited for its module give up. */
  clientGone(link: MessageLink): void {
    for (const box of this.awaiting.get(link)?.values() ?? []) box.fail(new LinkError("the client went away before it sent the module"));
    this.awaiting.delete(link);
  }

  /** The module a run asked its client for (needModule, with the run's request id). */
  private async receive(link: MessageLink, req: number): Promise<MessageOf<"module">> {
    const box = new Mailbox(1);
    const mine = this.awaiting.get(link) ?? new Map<number, Mailbox>();
    this.awaiting.set(link, mine.set(req, box));
    try {
      return await box.next(["module"], MODULE_WAIT_MS);
    } finally {
      mine.delete(req);
      if (mine.size === 0) this.awaiting.delete(link);
    }
  }

  private async run(link: MessageLink, m: MessageOf<"run">): Promise<void> {
    // every heartbeat carries what ps shows of a process: its module name and arguments are bounded
    const long = moduleNameProblem(m.module) ?? argsProblem(m.args);
    if (long) throw new RequestError("bad-request", `cannot run ${m.module.slice(0, 40)}: ${long}`);
    const image = await this.modules.get(link, m.req, m.hash, m.module, () => this.receive(link, m.req));
    this.capacity.check(image);
    const proc = this.table.start(image, m.module, m.args, m.detach ? null : link);
    link.send({ t: "started", req: m.req, pid: proc.info.pid });
  }

  private attach(link: MessageLink, m: MessageOf<"attach">): void {
    const p = this.table.get(m.pid);
    if (!p) throw new RequestError("no-such-process", `no process ${m.pid} on node ${this.node}`);
    link.send({ t: "started", req: m.req, pid: m.pid });
    for (const [seq, line] of p.output.since(m.from)) link.send({ t: "output", pid: m.pid, seq, line });
    if (p.info.state === "running") p.watchers.add(link);
    else link.send({ t: "exited", pid: m.pid, code: p.info.code ?? 1, error: p.info.error ?? "" });
  }

  private async kill(link: MessageLink, m: MessageOf<"kill">): Promise<void> {
    const p = this.table.get(m.pid);
    if (!p) throw new RequestError("no-such-process", `no process ${m.pid} on node ${this.node}`);
    if (p.info.state !== "running" || !p.process)
      throw new RequestError("not-running", `process ${m.pid} is not running (${p.info.state})`);
    p.watchers.add(link);
    await p.process.kill();
  }
}
