// Forwarding by link traversal: when a process leaves a node, the node keeps a
// forwarding link (pid -> where it went); what arrives for it during the
// handover waits at the node and follows the process. A message for a process
// that is not here follows the link; where it is delivered, every node it
// passed through is told where the process is now (`locUpdate`), so the chain
// is shortened once it has been followed, and the sender's node sends there
// directly next time.
//
// Weakness: a node in the chain that is down breaks it: a message waits at the
// node before it ("stuck") and is tried again until the delivery bound, then
// the sender's node gives up with an error naming the pid. A node that has no
// link for a pid (it restarted and forgot its links, or the bounded cache let
// the link go) follows the members' heartbeats instead, which list where each
// process runs; failing that it says "unknown" (or "stuck" just after it
// started, while it may not have heard every member).

import { CachedForwarding } from "./cached.js";
import { warmingUp, type ForwardingEnv, type NextStep } from "./forwarding.js";

export class Traversal extends CachedForwarding {
  readonly mode = "traversal";
  private readonly startedAt = performance.now();

  constructor(env: ForwardingEnv) {
    super(env);
    env.router.on("node", "locUpdate", (_link, m) => void this.updated(m.pid, m.node, m.epoch));
  }

  notHere(pid: string): NextStep {
    const next = this.cache.get(pid) ?? this.env.reportedAt(pid);
    if (next && next !== this.env.self) return { forward: next };
    return { answer: warmingUp(this.startedAt) ? "stuck" : "unknown" };
  }

  /** Every node the message passed through now links straight to here. */
  override reached(pid: string, path: string[], epoch: number): void {
    for (const node of new Set(path)) {
      if (node === this.env.self) continue;
      if (this.env.sendTo(node, { t: "locUpdate", id: 0, pid, node: this.env.self, epoch, ack: 0 })) this.env.control();
    }
  }

  /** The chain is broken there: wait for the node to be back (up to the bound), unless no such node was ever a member. */
  override unreachable(_pid: string, node: string): Promise<"unknown" | "unreachable"> {
    return Promise.resolve(this.env.known(node) ? "unreachable" : "unknown");
  }

  /** A traversal node never returns a message; if one is, there is no chain to follow. */
  override returned(): Promise<"unknown"> {
    return Promise.resolve("unknown");
  }
}
