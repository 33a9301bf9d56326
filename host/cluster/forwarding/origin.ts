// Forwarding by asking the origin site: a pid names the node it was created
// on (A.17 began on A), and that node keeps the current location of every
// process created on it. Every message goes to the pid's origin, which
// forwards it to where the process is (no hop when it runs there). When a
// process leaves a node, that node tells the origin the new location
// (`locUpdate`) before anything it held for the process follows: the link
// keeps order, so the origin always knows before a message comes back to it.
// When a process ends, its node tells the origin too, and the origin then
// answers "ended" for it. After a restart the origin rebuilds its table from
// the members' heartbeats, which list every process they run.
//
// Weakness: the origin is on the path of every message, and while it is down
// no message reaches its processes, wherever they run: the sender's node
// tries again until the origin is back, or until the delivery bound, then
// gives up with an error that names the pid.

import { PID, originOf } from "../../messaging/addresses.js";
import type { ProcInfo } from "../views.js";
import { warmingUp, type Forwarding, type ForwardingEnv, type NextStep } from "./forwarding.js";
import { LocationCache } from "./location-cache.js";

/** Processes whose location (or end) an origin remembers; the one heard of least recently is forgotten first. */
const MAX_PROCESSES = 1_000_000;

export class Origin implements Forwarding {
  readonly mode = "origin";
  /** for processes created here: the node each runs on, or "" once it has ended */
  private readonly where = new LocationCache(MAX_PROCESSES);
  private readonly startedAt = performance.now();

  constructor(private readonly env: ForwardingEnv) {
    env.router.on("node", "locUpdate", (_link, m) => {
      // only for a pid handed out here, to a node this cluster has (or "": it ended), not older than what is known
      if (PID.test(m.pid) && env.issued(m.pid) && (m.node === "" || env.known(m.node))) this.where.set(m.pid, m.node, m.epoch);
    });
  }

  target(pid: string): string {
    return originOf(pid);
  }

  notHere(pid: string): NextStep {
    if (originOf(pid) !== this.env.self) return { forward: originOf(pid) };
    const at = this.where.get(pid);
    if (at === undefined || at === this.env.self) return { answer: warmingUp(this.startedAt) ? "stuck" : "unknown" };
    return at === "" ? { answer: "ended" } : { forward: at };
  }

  delivered(): void {}

  reached(): void {}

  /** The origin never returns a message; if it were, nobody else knows better. */
  returned(): Promise<"unknown"> {
    return Promise.resolve("unknown");
  }

  /** The origin is down: wait for it to be back (up to the bound), unless no such node was ever a member. */
  unreachable(_pid: string, node: string): Promise<"unknown" | "unreachable"> {
    return Promise.resolve(this.env.known(node) ? "unreachable" : "unknown");
  }

  created(pid: string): void {
    this.where.set(pid, this.env.self, 0);
  }

  beforeResume(): Promise<void> {
    return Promise.resolve();
  }

  left(pid: string, to: string, epoch: number): void {
    this.tell(pid, to, epoch);
  }

  ended(pid: string, epoch: number): void {
    this.tell(pid, "", epoch);
  }

  /** A message went round in circles: the origin's entry is wrong; the members' heartbeats say where it runs. */
  forget(pid: string): void {
    if (originOf(pid) !== this.env.self) return;
    const seen = this.env.reportedAt(pid);
    if (seen) this.where.set(pid, seen);
    else this.where.delete(pid);
  }

  private tell(pid: string, node: string, epoch: number): void {
    const origin = originOf(pid);
    if (origin === this.env.self) return void this.where.set(pid, node, epoch);
    // if the origin is down it learns from heartbeats once it is back
    if (this.env.sendTo(origin, { t: "locUpdate", id: 0, pid, node, epoch, ack: 0 })) this.env.control();
  }

  /**
   * Fills in the location of processes of ours that a member runs: after a
   * restart the table is rebuilt, and a location at a node that is down (it
   * died before it could tell us) is corrected. A heartbeat never overrides a
   * location an up node told us: it may be older than that.
   */
  heard(member: string, procs: ProcInfo[]): void {
    for (const p of procs) {
      if (p.state !== "running" || p.node !== member || originOf(p.pid) !== this.env.self) continue;
      const at = this.where.get(p.pid);
      if (at === undefined || (at !== "" && at !== member && at !== this.env.self && !this.env.isUp(at))) this.where.set(p.pid, member);
    }
  }
}
