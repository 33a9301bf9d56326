// Forwarding by link update: the nodes that hold a link to a process (that
// have sent to it: its mailbox records them, and the record travels with it)
// are told its new address when it moves (`locUpdate`, ack 1) and
// acknowledge (`locAck`) before it resumes at its new node: the source sends
// the updates as it freezes the process for the handover, in parallel with the
// last pages, and hands over once every holder has answered, or the bound
// (`--update-wait`) has passed. A node that does not run a process answers a
// message for it "moved", as in resend: that only happens to a sender that
// was not a holder yet, or one that could not be reached.
//
// Weakness: the move waits for its slowest holder, up to the bound. A holder
// that is unreachable then keeps the old address; its next message is
// returned, and it locates the process as in resend.

import { randomInt } from "node:crypto";
import { CachedForwarding } from "./cached.js";
import type { ForwardingEnv, NextStep } from "./forwarding.js";

export class Update extends CachedForwarding {
  readonly mode = "update";
  private readonly acks = new Map<number, () => void>();
  private nextId = randomInt(2 ** 31);

  constructor(env: ForwardingEnv) {
    super(env);
    env.router.on("node", "locUpdate", (link, m) => {
      this.updated(m.pid, m.node, m.epoch);
      // acknowledged even if it was not newer: the mover only needs to know it was heard
      if (m.ack) {
        link.send({ t: "locAck", id: m.id });
        env.control();
      }
    });
    env.router.on("node", "locAck", (_link, m) => {
      this.acks.get(m.id)?.();
      this.acks.delete(m.id);
    });
  }

  notHere(): NextStep {
    return { answer: "moved" };
  }

  /** Returned: if an update has told us where it went meanwhile, go there; else locate it. */
  override returned(pid: string, by: string): Promise<string | "ended" | "unknown" | "unreachable"> {
    const known = this.cache.get(pid);
    return known && known !== by ? Promise.resolve(known) : super.returned(pid, by);
  }

  override async beforeResume(pid: string, to: string, holders: string[], epoch: number): Promise<void> {
    const { self } = this.env;
    this.cache.set(pid, to, epoch);
    const waiting: Array<{ node: string; id: number; acked: Promise<boolean> }> = [];
    for (const node of new Set(holders)) {
      if (node === self || node === to) continue;
      const id = ++this.nextId;
      const acked = new Promise<boolean>((r) => this.acks.set(id, () => r(true)));
      if (!this.env.sendTo(node, { t: "locUpdate", id, pid, node: to, epoch, ack: 1 })) {
        this.acks.delete(id);
        waiting.push({ node, id, acked: Promise.resolve(false) });
        continue;
      }
      this.env.control();
      waiting.push({ node, id, acked });
    }
    if (!waiting.length) return;
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<false>((r) => (timer = setTimeout(() => r(false), this.env.updateWaitMs)));
    const answered = await Promise.all(waiting.map((w) => Promise.race([w.acked, bound])));
    clearTimeout(timer);
    for (const w of waiting) this.acks.delete(w.id); // a late answer is not waited for any more
    const silent = waiting.filter((_, i) => !answered[i]).map((w) => w.node);
    if (silent.length) {
      this.env.event(
        `link update of ${pid} (now at ${to}): ${silent.join(", ")} did not acknowledge within ${this.env.updateWaitMs} ms; ` +
          "they will find it as in resend when they next send",
      );
    }
  }
}
