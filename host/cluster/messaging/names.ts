// Cluster-wide names for processes: `register(name)` and `whereis(name)`.
//
// A name belongs to the live process that registered it and travels with it
// (in its mailbox state), so it stays valid across migrations, and it is
// released when the process ends, with nothing to clean up: a node answers for
// the names of the processes it runs (and of those arriving at it). There is
// no registry node.
//
// Registering is a claim on every member: each answers "taken" (a live
// process of its own has the name), "busy" (it reserved the name for another
// claim a moment ago) or "ok" (and reserves it for this claim for a while).
// With every "ok" the name is the process's; the reservations are dropped
// (`nameRelease`) because from then on its node answers "taken". A "busy"
// means two claims raced: both give up their reservations and try again after
// a random pause, so one of them wins. A member silent for CLAIM_MS is taken
// not to hold the name (it may: then two processes share it until one ends).
//
// whereis asks the local table, then every member; the sender's node caches
// what it learnt (resolve), and forgets it when a send to it says the process
// has ended.

import { PID, validName } from "../../messaging/addresses.js";
import type { Peers } from "../peers.js";
import type { Proc } from "../processes.js";
import { Queries } from "../queries.js";
import type { Router } from "../router.js";
import type { ClaimAnswer } from "./outcomes.js";

/** How long a claim or a query waits for the members. */
const CLAIM_MS = 1000;
/** How long a member keeps a name reserved for a claim that did not finish. */
const RESERVE_MS = 5000;
/** Claims a register makes before it gives up on a name others keep claiming. */
const TRIES = 20;
/** Names a node keeps reserved at once (claims under way; expired ones are dropped to make room). */
const MAX_RESERVED = 10_000;
/** Of those, the most one node's claims may hold (a node registers a handful of names at a time). */
const MAX_RESERVED_PER_NODE = 100;
const MAX_PID = 64;

export class Names {
  private readonly claims: Queries<ClaimAnswer>;
  private readonly lookups: Queries<string>;
  /** names reserved for claims under way: for which pid, until when, asked by which node */
  private readonly reserved = new Map<string, { pid: string; until: number; by: string }>();
  private readonly cache = new Map<string, string>();

  constructor(
    private readonly self: string,
    private readonly peers: Peers,
    router: Router,
    /** the pid of the live (or arriving) process here that has the name */
    private readonly holder: (name: string) => string | null,
  ) {
    this.claims = new Queries(peers);
    this.lookups = new Queries(peers);
    router.on("node", "nameClaim", (link, m) => link.send({ t: "nameAnswer", qid: m.qid, answer: this.answer(m.name, m.pid, link.peer) }));
    router.on("node", "nameAnswer", (link, m) => this.claims.answer(link.peer, m.qid, m.answer));
    router.on("node", "nameRelease", (_link, m) => this.unreserve(m.name, m.pid));
    router.on("node", "nameQuery", (link, m) => link.send({ t: "nameReply", qid: m.qid, pid: holder(m.name) ?? "" }));
    router.on("node", "nameReply", (link, m) => this.lookups.answer(link.peer, m.qid, PID.test(m.pid) ? m.pid : ""));
  }

  /**
   * This node's answer to a claim of `name` by `pid`, asked by node `by` (a
   * name no process may have is refused, not reserved; a node with too many
   * claims under way is asked to wait).
   */
  private answer(name: string, pid: string, by: string): ClaimAnswer {
    if (!validName(name) || pid.length > MAX_PID) return "taken";
    const h = this.holder(name);
    if (h !== null && h !== pid) return "taken";
    const now = performance.now();
    const r = this.reserved.get(name);
    if (r && r.pid !== pid && r.until > now) return "busy";
    if (this.reserved.size >= MAX_RESERVED) for (const [n, x] of this.reserved) if (x.until <= now) this.reserved.delete(n);
    if (this.reserved.size >= MAX_RESERVED || this.claimsBy(by, now) >= MAX_RESERVED_PER_NODE) return "busy";
    this.reserved.set(name, { pid, until: now + RESERVE_MS, by });
    return "ok";
  }

  private claimsBy(node: string, now: number): number {
    let n = 0;
    for (const x of this.reserved.values()) if (x.by === node && x.until > now) n++;
    return n;
  }

  private unreserve(name: string, pid: string): void {
    if (this.reserved.get(name)?.pid === pid) this.reserved.delete(name);
  }

  /** Gives the process `proc` the name, if nobody else has it; false if it is taken (or not a valid name). */
  async register(proc: Proc, name: string): Promise<boolean> {
    const pid = proc.info.pid;
    if (!validName(name)) return false;
    if (proc.mail.name !== null) return proc.mail.name === name;
    for (let t = 0; t < TRIES; t++) {
      const answers = [this.answer(name, pid, this.self)];
      if (answers[0] === "ok") {
        const r = await this.claims.ask(
          (qid) => ({ t: "nameClaim", qid, name, pid }),
          CLAIM_MS,
          (a) => a === "taken",
        );
        answers.push(...r.answers.values());
      }
      const won = answers.every((a) => a === "ok") && proc.info.state === "running";
      if (won) {
        proc.mail.name = name;
        this.cache.set(name, pid);
      }
      this.unreserve(name, pid);
      this.peers.broadcast({ t: "nameRelease", name, pid });
      if (won) return true;
      if (answers.includes("taken") || proc.info.state !== "running") return false;
      await new Promise((r) => setTimeout(r, (5 + Math.random() * 45) * (t + 1)));
    }
    return false;
  }

  /** The pid of the live process named `name`, or null. */
  async whereis(name: string): Promise<string | null> {
    if (!validName(name)) return null;
    const local = this.holder(name);
    if (local !== null) return local;
    const { answers } = await this.lookups.ask(
      (qid) => ({ t: "nameQuery", qid, name }),
      CLAIM_MS,
      (pid) => pid !== "",
    );
    const pid = [...answers.values()].find((p) => p !== "") ?? null;
    if (pid !== null) this.cache.set(name, pid);
    return pid;
  }

  /** whereis, answered from what this node learnt before when it can. */
  async resolve(name: string): Promise<string | null> {
    return this.cache.get(name) ?? this.whereis(name);
  }

  /** A send to the process cached for `name` said it ended: look again next time. */
  forget(name: string): void {
    this.cache.delete(name);
  }
}
