// The balancer: the node's part that moves its processes when load is
// uneven, without a person watching (`migrant node --balance`). Every TICK_MS,
// if no balancer move is in flight here (transfer.ts: the Slot), it tries, in
// this order:
//   - a chatty pair (selection.ts): a process here that exchanges many
//     messages with one on another node goes to it, or waits for it to come;
//   - sender-initiated (modes sender, symmetric): an overloaded node selects
//     its best process to shed (selection.ts), probes a few members for room
//     (location.ts), offers it to the best one and migrates it there;
//   - receiver-initiated (receiver, symmetric): a node with room for one more
//     process reserves it and asks a few members for work; an overloaded one
//     that is not busy selects a process and migrates it to the asker.
// A move is a pre-copy migration started through Emigrations.move, as a
// client's `migrate` would be. Before it the destination hears why (the
// offer, or its own ask answered) and logs it; after it the source says how it
// ended (balanceEnd) and the destination lets its reservation go. A move that
// fails (the destination dies, or refuses) is rolled back by the migration:
// the process runs on here; it is logged and counted. Every move is logged on
// both nodes with its reason, and counted (moved, received, failed), and the
// heartbeat carries the counters. The dry-run is plan.ts.

import type { Emigrations } from "../cluster/emigrations.js";
import type { CpuShare } from "../cluster/cpu-share.js";
import type { PairRates } from "../cluster/messaging/pair-rates.js";
import type { Peers } from "../cluster/peers.js";
import type { ProcessTable } from "../cluster/processes.js";
import type { Router } from "../cluster/router.js";
import type { BalanceCounters, BalanceState } from "../cluster/views.js";
import type { MessageLink } from "../net/link.js";
import type { MessageOf } from "../net/protocol.js";
import { messageOf } from "../text/thrown.js";
import { checkAsk, checkEnd, checkOffer } from "./checks.js";
import { Information, type NodeFigures } from "./information.js";
import { ANSWER_MS, bestDestination, Location, pickRandom, PROBE_K, PROBE_MS } from "./location.js";
import { plan } from "./plan.js";
import { CHATTY_RATE, pairMove, pairReason, select } from "./selection.js";
import { excess, overFigures, overloaded, roomFigures, roomFor, roomForOne, Slot, TICK_MS, type BalanceMode } from "./transfer.js";

/** The longest a balancer move may hold a node's slot (a peer that never says how it ended cannot hold it for ever). */
const MOVE_BOUND_MS = 120_000;

export interface BalancerOptions {
  name: string;
  mode: BalanceMode;
  threshold: number;
  residenceMs: number;
  event: (line: string) => void;
}

export interface BalancerParts {
  table: ProcessTable;
  cpu: CpuShare;
  peers: Peers;
  router: Router;
  pairs: PairRates;
  emigrations: Emigrations;
}

const loadOf = (n: NodeFigures) => ({ cpus: n.cpus, demand: n.demand, procs: n.procs.length });

export class Balancer {
  private readonly slot = new Slot();
  private readonly info: Information;
  private readonly location: Location;
  private readonly counters = { moved: 0, received: 0, failed: 0 };
  /** processes on their way here by the balancer, by pid: from which node */
  private readonly expected = new Map<string, string>();
  private readonly timer: NodeJS.Timeout;
  private ticking = false;
  private closed = false;

  constructor(
    private readonly o: BalancerOptions,
    private readonly p: BalancerParts,
  ) {
    this.info = new Information({ ...o, ...p, slot: this.slot });
    this.location = new Location(p.peers, p.router, (link, m) => this.lateAnswer(link, m));
    p.router.on("node", "balanceProbe", (link, m) => this.answerProbe(link, m));
    p.router.on("node", "balanceAsk", (link, m) => this.answerAsk(link, checkAsk(m)));
    p.router.on("node", "balanceOffer", (link, m) => this.answerOffer(link, checkOffer(m)));
    p.router.on("node", "balanceEnd", (link, m) => this.ended(link, checkEnd(m)));
    p.router.on("client", "balanceRequest", (link, m) => this.dryRun(link, m));
    p.peers.onGone((peer) => {
      const h = this.slot.held;
      if (h?.role === "destination" && h.peer === peer) this.slot.free(h);
    });
    this.timer = setInterval(() => void this.tick(), TICK_MS).unref();
  }

  /** What the heartbeat says of the balancer. */
  state(): BalanceState {
    const self = this.info.self();
    return {
      ...this.countersNow(),
      busy: self.busy,
      movable: self.procs.filter((p) => p.movable).map((p) => p.pid),
      pairs: this.info.pairs(),
    };
  }

  countersNow(): BalanceCounters {
    return { mode: this.o.mode, ...this.counters };
  }

  /** Stops looking at the load and takes no more moves (a move under way ends by itself). */
  close(): void {
    this.closed = true;
    clearInterval(this.timer);
  }

  private get sends(): boolean {
    return this.o.mode === "sender" || this.o.mode === "symmetric";
  }

  private get receives(): boolean {
    return this.o.mode === "receiver" || this.o.mode === "symmetric";
  }

  /** One look at the load; at most one at a time, and never while a move is in flight. */
  private async tick(): Promise<void> {
    if (this.o.mode === "off" || this.closed || this.ticking || this.slot.busy) return;
    this.ticking = true;
    try {
      const self = this.info.self();
      if (await this.pairStep(self)) return;
      if (this.sends && overloaded(loadOf(self), this.o.threshold)) await this.senderStep(self);
      else if (this.receives && roomForOne(self)) await this.receiverStep(self);
    } catch (e) {
      this.o.event(`balancer: a look at the load failed (a bug): ${e instanceof Error ? (e.stack ?? e.message) : messageOf(e)}`);
    } finally {
      this.ticking = false;
    }
  }

  /** Messages/s a process exchanges with processes on this node. */
  private partnersHere(pid: string): number {
    return this.info
      .partners(pid)
      .filter((x) => this.p.table.get(x.pid)?.info.state === "running")
      .reduce((a, x) => a + x.rate, 0);
  }

  /** A chatty pair with an end here: this end moves to the other, if the rule says so. */
  private async pairStep(self: NodeFigures): Promise<boolean> {
    const members = this.info.members();
    for (const p of self.procs) {
      for (const partner of this.info.partners(p.pid)) {
        if (partner.rate < CHATTY_RATE) continue;
        const there = members.find((m) => m.procs.some((x) => x.pid === partner.pid));
        const q = there?.procs.find((x) => x.pid === partner.pid);
        if (!there || !q) continue;
        const m = pairMove(
          { ...p, node: self.name, load: self },
          { pid: q.pid, share: q.share, movable: q.movable, node: there.name, load: there },
          partner.rate,
        );
        if (m?.from !== self.name) continue;
        // refused (busy there, or its room gone): the load rules may still act this look
        return this.offerAndMove(p.pid, p.share, there.name, pairReason(p.pid, partner.pid, partner.rate, there.name, there));
      }
    }
    return false;
  }

  /** An overloaded node: its best process, to the member with the most room of a few probed. */
  private async senderStep(self: NodeFigures): Promise<void> {
    const choice = select(self.procs, excess(loadOf(self)), (pid) => this.partnersHere(pid));
    if (!choice) return;
    if (!this.slot.take("source", PROBE_MS * 3, { pid: choice.pid })) return;
    const probing = this.slot.held;
    const loads = await this.location.probe(pickRandom(this.location.members(), PROBE_K));
    this.slot.free(probing);
    const to = bestDestination(loads, choice.share);
    if (!to) return;
    const reason = `sender: ${overFigures(loadOf(self), this.o.threshold)}; ${to.name} has room (${roomFigures(to)})`;
    await this.offerAndMove(choice.pid, choice.share, to.name, reason);
  }

  /** Offers a process to a node; if it takes it, moves it there (true: it took it). */
  private async offerAndMove(pid: string, share: number, to: string, reason: string): Promise<boolean> {
    if (!this.slot.take("source", MOVE_BOUND_MS, { pid, peer: to, share })) return false;
    const held = this.slot.held;
    try {
      const answer = await this.location.offer(to, pid, share, reason);
      if (answer.ok) await this.move(pid, to, reason);
      // an acceptance that came too late (or never) may have reserved room there: let it go
      else this.p.peers.membership.up(to)?.link?.send({ t: "balanceEnd", pid, result: "cancelled" });
      return answer.ok;
    } finally {
      this.slot.free(held);
    }
  }

  /** A node with room: it reserves it and asks a few members for work, one after the other. */
  private async receiverStep(self: NodeFigures): Promise<void> {
    if (!this.slot.take("destination", ANSWER_MS * (PROBE_K + 1))) return;
    const held = this.slot.held!;
    for (const name of pickRandom(this.location.members(), PROBE_K)) {
      const answer = await this.location.ask(name, self.cpus, self.demand);
      if (this.slot.held !== held) return; // let go meanwhile (its bound)
      if (!answer) continue;
      Object.assign(held, { peer: name, pid: answer.pid, share: 1, until: performance.now() + MOVE_BOUND_MS });
      this.arrives(answer.pid, name, answer.reason);
      return;
    }
    this.slot.free(held);
  }

  /** Moves a process of this node (its slot taken); logs and counts how it went, and tells the destination. */
  private async move(pid: string, to: string, reason: string): Promise<void> {
    this.o.event(`balancer: moving ${pid} to ${to} (${reason})`);
    this.counters.moved++;
    let result = "failed";
    let error = "";
    try {
      const stats = await this.p.emigrations.move({ pid, to, options: { strategy: "precopy" }, progress: () => undefined });
      result = stats.result;
      error = stats.error ?? stats.result;
      if (result !== "completed") this.info.noteDirtyRate(pid, stats.dirtyRate);
    } catch (e) {
      error = messageOf(e);
    }
    if (result !== "completed") {
      this.counters.failed++;
      this.o.event(`balancer: moving ${pid} to ${to} failed (${error}); it stays here`);
    }
    this.p.peers.membership.up(to)?.link?.send({ t: "balanceEnd", pid, result });
  }

  /** A process is on its way here: logged with its reason. */
  private arrives(pid: string, from: string, reason: string): void {
    this.expected.set(pid, from);
    if (this.expected.size > 64) this.expected.delete(this.expected.keys().next().value!);
    this.o.event(`balancer: ${pid} arrives from ${from} (${reason})`);
  }

  private answerProbe(link: MessageLink, m: MessageOf<"balanceProbe">): void {
    const self = this.info.self();
    link.send({ t: "balanceLoad", qid: m.qid, cpus: self.cpus, demand: self.demand, busy: self.busy ? 1 : 0 });
  }

  /** A member with room asks for work: an overloaded node that is not busy sends it its best process. */
  private async answerAsk(link: MessageLink, m: MessageOf<"balanceAsk">): Promise<void> {
    const self = this.info.self();
    const no = () => link.send({ t: "balanceAnswer", qid: m.qid, pid: "", reason: "" });
    if (!this.receives || this.closed || self.busy || !overloaded(loadOf(self), this.o.threshold)) return no();
    const fits = (s: number) => roomFor(m, s);
    const choice = select(self.procs, excess(loadOf(self)), (pid) => this.partnersHere(pid), fits);
    if (!choice || !this.slot.take("source", MOVE_BOUND_MS, { pid: choice.pid, peer: link.peer })) return no();
    const held = this.slot.held;
    const reason =
      `receiver: ${link.peer} has room (${roomFigures(m)}) and asked; ` + `${overFigures(loadOf(self), this.o.threshold)} here`;
    link.send({ t: "balanceAnswer", qid: m.qid, pid: choice.pid, reason });
    try {
      await this.move(choice.pid, link.peer, reason);
    } finally {
      this.slot.free(held);
    }
  }

  /** A process offered to this node: taken if no move is in flight here and it has room; the room is reserved. */
  private answerOffer(link: MessageLink, m: MessageOf<"balanceOffer">): void {
    const self = this.info.self();
    const why =
      this.o.mode === "off" || this.closed
        ? `node ${this.o.name} does not balance${this.closed ? " now: it is stopping" : ""}`
        : self.busy
          ? `a balancer move is in flight at ${this.o.name}`
          : !roomFor(self, m.share)
            ? `${this.o.name} has no room (${roomFigures(self)}) for a share of ${m.share.toFixed(2)}`
            : "";
    if (why || !this.slot.take("destination", MOVE_BOUND_MS, { peer: link.peer, pid: m.pid, share: m.share })) {
      link.send({ t: "balanceAccept", qid: m.qid, ok: 0, why: why || "busy" });
      return;
    }
    this.arrives(m.pid, link.peer, m.reason);
    link.send({ t: "balanceAccept", qid: m.qid, ok: 1, why: "" });
  }

  /** An answer to an ask that came after its time: the process comes anyway; said so, and reserved if the slot is free. */
  private lateAnswer(link: MessageLink, m: MessageOf<"balanceAnswer">): void {
    if (!m.pid) return;
    this.slot.take("destination", MOVE_BOUND_MS, { peer: link.peer, pid: m.pid, share: 1 });
    this.arrives(m.pid, link.peer, m.reason);
  }

  /** The source says how a move here ended: the reservation goes. */
  private ended(link: MessageLink, m: MessageOf<"balanceEnd">): void {
    const h = this.slot.held;
    if (h?.role === "destination" && h.peer === link.peer && h.pid === m.pid) this.slot.free(h);
    if (this.expected.get(m.pid) !== link.peer) return;
    this.expected.delete(m.pid);
    if (m.result === "completed") this.counters.received++;
  }

  /** `migrant balance --dry-run`: the moves a balancer would make now, from this node's view. */
  private dryRun(link: MessageLink, m: MessageOf<"balanceRequest">): void {
    const nodes = [this.info.self(), ...this.info.members()];
    const planned = plan(nodes, [...this.info.pairs(), ...this.info.memberPairs()], this.o.mode, this.o.threshold);
    link.send({ t: "balancePlan", req: m.req, mode: this.o.mode, list: planned.moves, why: planned.why });
  }
}
