// Messages between processes on a node: the part of the node that serves the
// guests' send, recv, register and whereis, takes messages into the mailboxes
// of the processes here, passes on those for processes that are not here, and
// keeps a moving process's messages whole across its handover.
//
// Sending: a guest's send (numbered by its worker) becomes the process's send
// under way (its mailbox keeps it: process-mail.ts) and a delivery
// (deliveries.ts), which goes where the forwarding mechanism (forwarding/)
// says and ends with the receiver's node's answer. A client's `migrant send`
// is a delivery too, from a sender id of its own.
//
// Receiving (receive): a message for a process here goes into its mailbox
// (or is answered "dup", "full", "ended"); one for a process not here goes
// where the mechanism says, or is answered ("moved", "unknown", ...). The
// answer goes straight to the sender's node.
//
// Handover. From the moment a process is frozen to leave until its fate is
// known, messages for it wait here (its gate is closed; the senders are told
// "held"): the mailbox that travels in the handover is then exactly what was
// accepted, and what came after follows the process when the gate opens: to
// its new node by the mechanism (left), or into its mailbox here if the
// migration failed (stayed). The destination holds messages for a process
// arriving at it the same way until it runs there (arriving, arrived). A send
// the process had under way when it froze is driven again by its new node;
// the receiver takes it once.

import type { MessageOf } from "../../net/protocol.js";
import type { Message } from "../../net/protocol.js";
import type { MessageLink } from "../../net/link.js";
import { RequestError } from "../../errors.js";
import type { GuestProcess, MailRequest } from "../../process.js";
import { CLIENT_SENDER, MAX_MESSAGE, newSenderId, type MailState, type Outgoing } from "../../messaging/process-mail.js";
import type { MailCursor } from "../../worker/messages.js";
import { createForwarding } from "../forwarding/create.js";
import type { Forwarding, ForwardingMode } from "../forwarding/forwarding.js";
import type { Peers } from "../peers.js";
import type { Proc, ProcessTable } from "../processes.js";
import type { Router } from "../router.js";
import { NO_MAIL_COUNTERS, type MailCounters } from "../views.js";
import { Deliveries, type Sent } from "./deliveries.js";
import { Locator } from "./locator.js";
import { Names } from "./names.js";
import type { Location, MailOutcome } from "./outcomes.js";
import { PairRates } from "./pair-rates.js";

/** Hops a message may make before a node refuses to pass it on (a loop, or a chain gone wrong). */
export const MAX_HOPS = 16;
/** Longest pid, name or sender id a message may carry. */
const MAX_ADDRESS = 200;
/** Messages a gate holds for one process (more are answered "full": the sender tries again later). */
const MAX_HELD = 1024;
/** `migrant send`s a client link, and a node, may have under way at once. */
const CLIENT_SENDS_PER_LINK = 64;
const CLIENT_SENDS = 1024;

/**
 * Messages held for a process in a handover: it is leaving this node (frozen
 * for the handover) or arriving at it (from migBegin until it runs here; its
 * name, if it has one, is answered for meanwhile).
 */
interface Gate {
  kind: "leaving" | "arriving";
  name: string | null;
  held: Array<MessageOf<"mail">>;
}

export interface PostOfficeOptions {
  self: string;
  forwarding: ForwardingMode;
  /** how long a delivery may go without progress before its send returns false */
  deliverTimeoutMs: number;
  /** update: how long a move waits for its link holders */
  updateWaitMs: number;
  event(line: string): void;
}

export class PostOffice {
  readonly counters: MailCounters = { ...NO_MAIL_COUNTERS };
  readonly forwarding: Forwarding;
  readonly names: Names;
  /** messages per pair of processes, for the balancer's chatty-pair rule (pair-rates.ts) */
  readonly pairs = new PairRates();
  private readonly deliveries: Deliveries;
  /** processes in a handover, by pid */
  private readonly gates = new Map<string, Gate>();
  /** `migrant send`s under way, by the client link that asked (dropped if it goes away) */
  private readonly clientSends = new Map<MessageLink, Set<string>>();

  constructor(
    private readonly o: PostOfficeOptions,
    private readonly table: ProcessTable,
    private readonly peers: Peers,
    router: Router,
  ) {
    const control = () => this.counters.control++;
    const locator = new Locator(o.self, peers, router, (pid) => this.where(pid), control);
    const env = {
      ...o,
      router,
      sendTo: this.sendTo,
      isUp: (n: string) => !!peers.membership.up(n),
      known: (n: string) => this.known(n),
      issued: (pid: string) => table.issued(pid),
      reportedAt: (pid: string) => peers.membership.processes().find((p) => p.pid === pid && p.state === "running")?.node ?? null,
      control,
      locator,
    };
    this.forwarding = createForwarding(o.forwarding, env);
    this.names = new Names(o.self, peers, router, (name) => this.holder(name));
    this.deliveries = new Deliveries({
      ...env,
      forwarding: this.forwarding,
      names: this.names,
      receive: (f) => this.receive(f),
      counters: this.counters,
    });
    table.onMail = (proc, m, gp) => this.fromGuest(proc, m, gp);
    table.onStarted((proc) => this.forwarding.created(proc.info.pid));
    table.onEnded((proc) => {
      proc.mail.ended();
      this.deliveries.cancel(proc.info.pid);
      this.forwarding.ended(proc.info.pid, proc.info.migrations);
    });
    peers.onHeartbeat((member, state) => this.forwarding.heard(member, state.procs));
    router.on("node", "mail", (link, m) => this.receive(this.checked(m, link.peer)));
    router.on("node", "mailAck", (_link, m) => this.deliveries.onAck(m));
    router.on("node", "mailRoom", (_link, m) => this.deliveries.onRoom(m.pid));
    router.on("client", "sendRequest", (link, m) => this.clientSend(link, m));
  }

  /** Sends to an up member; false if it cannot be reached now. */
  private readonly sendTo = (node: string, m: Message): boolean => {
    const link = this.peers.membership.up(node)?.link;
    if (!link) return false;
    link.send(m);
    return true;
  };

  /** Whether a node of that name is this one or a member (ever). */
  private known(node: string): boolean {
    return node === this.o.self || this.peers.membership.members.has(node);
  }

  /** A mail frame from a peer, its values checked where they enter. */
  private checked(m: MessageOf<"mail">, peer: string): MessageOf<"mail"> {
    const long = [m.from, m.src, m.to, m.replyTo, ...m.path].find((s) => s.length > MAX_ADDRESS);
    if (long !== undefined) throw new Error(`a message with an address of ${long.length} characters (at most ${MAX_ADDRESS})`);
    if (m.data.length > MAX_MESSAGE) throw new Error(`a message of ${m.data.length} bytes (at most ${MAX_MESSAGE}) from node ${peer}`);
    if (m.path.length > MAX_HOPS || m.hops > MAX_HOPS)
      throw new Error(`a message that went ${m.hops} hops through ${m.path.length} nodes (at most ${MAX_HOPS})`);
    if (m.n < 1) throw new Error("a message numbered 0 (sends are numbered from 1)");
    return m;
  }

  // ---- the guests' side ----

  private fromGuest(proc: Proc, m: MailRequest, gp: GuestProcess): void {
    switch (m.t) {
      case "send":
        return this.drive(proc, proc.mail.send(m.n, m.to, m.data));
      case "took":
        for (const node of proc.mail.took(m.i)) {
          if (node === this.o.self) this.deliveries.onRoom(proc.info.pid);
          else this.sendTo(node, { t: "mailRoom", pid: proc.info.pid });
        }
        return;
      case "call": {
        const asked = m.op === "register" ? this.names.register(proc, m.arg) : this.names.whereis(m.arg);
        void asked.then(
          (value) => gp.toInbox({ t: "answer", id: m.id, value }),
          (e: Error) => {
            this.o.event(`${m.op} for ${proc.info.pid} failed: ${e.message}`);
            gp.toInbox({ t: "answer", id: m.id, value: m.op === "register" ? false : null });
          },
        );
      }
    }
  }

  /** Drives a process's send under way to its end; the guest hears the outcome. */
  private drive(proc: Proc, out: Outgoing): void {
    const pid = proc.info.pid;
    this.deliveries.post(pid, pid, proc.mail.sid, out.n, out.to, out.data).then(
      (s) => {
        // a receiver here counted the message as it took it
        if (s.ok && s.pid && this.table.get(s.pid)?.info.state !== "running") this.pairs.count(pid, s.pid);
        proc.mail.complete(out, s.ok);
      },
      (e: Error) => {
        this.o.event(`send ${out.n} of ${pid} failed: ${e.message}; it returns false`);
        proc.mail.complete(out, false);
      },
    );
  }

  /** `migrant send`: a message from a client, through this node (a bounded number at once, dropped if the client goes). */
  private async clientSend(link: MessageLink, m: MessageOf<"sendRequest">): Promise<void> {
    if (m.data.length > MAX_MESSAGE) throw new RequestError("bad-request", `a message may have at most ${MAX_MESSAGE} bytes`);
    if (m.to.length === 0 || m.to.length > MAX_ADDRESS) throw new RequestError("bad-request", "give a pid (A.17) or a registered name");
    const mine = this.clientSends.get(link) ?? new Set<string>();
    const all = [...this.clientSends.values()].reduce((a, x) => a + x.size, 0);
    if (mine.size >= CLIENT_SENDS_PER_LINK || all >= CLIENT_SENDS)
      throw new RequestError(
        "busy",
        `node ${this.o.self} has ${mine.size} sends of this client under way (and ${all} in all); wait for them`,
      );
    const from = newSenderId(CLIENT_SENDER) + `@${this.o.self}`;
    this.clientSends.set(link, mine.add(from));
    try {
      const s: Sent = await this.deliveries.post(from, from, from, 1, m.to, m.data);
      if (!s.ok) throw new RequestError("no-such-process", s.why ?? `no process ${m.to}`);
      link.send({ t: "sendResult", req: m.req, pid: s.pid!, hops: s.hops, ms: s.ms });
    } finally {
      mine.delete(from);
      if (mine.size === 0) this.clientSends.delete(link);
    }
  }

  /** A client went away: its sends under way are dropped (nobody waits for their answer). */
  clientGone(link: MessageLink): void {
    for (const from of this.clientSends.get(link) ?? []) this.deliveries.cancel(from);
    this.clientSends.delete(link);
  }

  // ---- the receiving side ----

  /** A message for a process: take it here, hold it, pass it on, or answer why not. */
  receive(f: MessageOf<"mail">): void {
    const pid = f.to;
    const gate = this.gates.get(pid);
    if (gate) {
      // one copy of each message is enough (a sender tries again while it waits)
      if (gate.held.some((h) => h.src === f.src && h.n === f.n)) return this.ack(f, "held");
      if (gate.held.length >= MAX_HELD) return this.ack(f, "full");
      gate.held.push(f);
      return this.ack(f, "held");
    }
    const proc = this.table.get(pid);
    if (proc) {
      if (proc.info.state !== "running") return this.ack(f, proc.mail.has(f.src, f.n) ? "dup" : "ended");
      const r = proc.mail.accept(f.from, f.src, f.n, f.data, this.known(f.replyTo) ? f.replyTo : "");
      if (r === "full" && f.src === proc.mail.sid) {
        // it waits in this very send: it could never make room
        this.o.event(`process ${pid} sent itself a message while its mailbox is full; its send returns false`);
        return this.ack(f, "refused");
      }
      if (r === "delivered") {
        this.counters.delivered++;
        this.pairs.count(f.from, pid);
        this.counters.hops += f.hops;
        this.counters.maxHops = Math.max(this.counters.maxHops, f.hops);
        this.forwarding.reached(pid, f.path, proc.info.migrations);
      }
      return this.ack(f, r);
    }
    const step = this.forwarding.notHere(pid);
    if ("answer" in step) {
      if (step.answer === "moved") this.counters.returned++;
      return this.ack(f, step.answer);
    }
    if (step.forward === this.o.self || f.hops >= MAX_HOPS) {
      // it goes round in circles: what this node believes of the process is wrong (the next try goes another way)
      this.forwarding.forget(pid);
      this.o.event(`message for ${pid} from ${f.from} not passed on after ${f.hops} hops (via ${f.path.join(" -> ")}); tried again`);
      return this.ack(f, "stuck");
    }
    if (!this.sendTo(step.forward, { ...f, hops: f.hops + 1, path: [...f.path, this.o.self] })) return this.ack(f, "stuck", step.forward);
    this.counters.forwarded++;
  }

  /** Answers the sender's node (directly, wherever the message went on the way). */
  private ack(f: MessageOf<"mail">, outcome: MailOutcome, at = this.o.self): void {
    const m: MessageOf<"mailAck"> = { t: "mailAck", id: f.id, src: f.src, n: f.n, to: f.to, outcome, at, hops: f.hops };
    if (f.replyTo === this.o.self) this.deliveries.onAck(m);
    else this.sendTo(f.replyTo, m);
  }

  /** Where this node says a process is (the locator's answer). */
  private where(pid: string): Location {
    if (this.gates.get(pid)?.kind === "arriving") return "arriving";
    const p = this.table.get(pid);
    if (!p) return "none";
    return p.info.state === "running" ? "here" : "ended";
  }

  /** The live (or arriving) process here that has `name`. */
  private holder(name: string): string | null {
    for (const p of this.table.running()) if (p.mail.name === name) return p.info.pid;
    for (const [pid, g] of this.gates) if (g.kind === "arriving" && g.name === name) return pid;
    return null;
  }

  // ---- migrations ----

  /**
   * A process here is frozen to leave for `to`: its messages wait from now on.
   * Resolves when the mechanism lets it resume there (update: its link
   * holders know the new address).
   */
  leaving(proc: Proc, to: string): Promise<void> {
    const pid = proc.info.pid;
    if (!this.gates.has(pid)) this.gates.set(pid, { kind: "leaving", name: null, held: [] });
    return this.forwarding.beforeResume(pid, to, [...proc.mail.holders], proc.info.migrations + 1);
  }

  /** The mailbox as it travels in the handover: what the frozen guest has not taken. */
  travelling(proc: Proc, cursor: MailCursor): MailState {
    proc.mail.reconcile(cursor);
    return proc.mail.state();
  }

  /** The process runs at `to` now (it has left the table here), moved `epoch` times: what waited for it follows it. */
  left(pid: string, to: string, epoch: number): void {
    this.counters.departures++;
    this.deliveries.cancel(pid);
    this.forwarding.left(pid, to, epoch);
    this.open(pid, "leaving");
  }

  /** The migration ended without a handover (or after it: then nothing is held): the process runs on here, with what waited. */
  stayed(pid: string): void {
    this.open(pid, "leaving");
  }

  /** A migration of `pid` to this node began: messages for it wait until it runs here. */
  arriving(pid: string, name: string | null): void {
    this.gates.set(pid, { kind: "arriving", name, held: [] });
  }

  /** The process runs here now: a send it had under way goes on from here, and what waited for it is taken. */
  arrived(proc: Proc): void {
    const p = proc.mail.pending;
    if (p && p.result === null) this.drive(proc, p);
    this.open(proc.info.pid, "arriving");
  }

  /** The migration to this node is over without the process (or with it: then this does nothing): what waited goes on. */
  notArriving(pid: string): void {
    this.open(pid, "arriving");
  }

  /** Opens the gate of `pid` if it is one of `kind`: what it held is received again, in order. */
  private open(pid: string, kind: Gate["kind"]): void {
    const gate = this.gates.get(pid);
    if (gate?.kind !== kind) return;
    this.gates.delete(pid);
    for (const f of gate.held) this.receive(f);
  }

  /** Stops every delivery (the node is stopping). */
  close(): void {
    this.deliveries.close();
  }
}
