// The sending side of messages between processes: every message a process
// here (or a client, through `migrant send`) sends, from the moment its send
// begins until it is in the receiver's mailbox, or until it is known that it
// cannot be.
//
// A delivery goes where the forwarding mechanism says first (forwarding/),
// as an attempt with an id of this node's; whichever node takes the message
// into the receiver's mailbox answers this node directly (`mailAck`), however
// many nodes the message passed through. Until then the node keeps the
// message, and:
//   - no answer within ATTEMPT_MS: it sends it again, the same way (the
//     receiver takes a copy only once: process-mail.ts);
//   - "moved" (returned): it asks the mechanism where to go now (resend and
//     update locate the process) and sends it there;
//   - "full": it waits for `mailRoom` from the receiver's node (or
//     ROOM_RETRY_MS), then tries again: flow control, never a loss;
//   - "stuck" (a node on the way is unreachable) or no link to the first node:
//     it tries again after a pause that doubles up to BACKOFF_MAX_MS;
//   - "held" (the receiver is in a handover): the copy held goes on when the
//     handover is over; it sends again only after HELD_RETRY_MS;
//   - "refused" (a process's message to itself into its own full mailbox: it
//     could never make room): the send returns false;
//   - "ended" or "unknown": the send returns false (a name is looked up once
//     more first: another process may have taken it).
// A delivery that makes no progress (no answer that shows the receiver alive:
// delivered, full, held) for the delivery bound (`--deliver-timeout`) is given
// up: the send returns false and the node logs an error that names the pid.
// An answer counts only if it names the message (sender id, number, receiver)
// as well as the attempt: attempt ids start at a random number on every start
// of the node, and a copy held somewhere may be answered long after.
//
// A process has at most one send under way. When it leaves this node its
// delivery here is dropped: its new node drives the same send (same number)
// again, and the receiver takes whichever copy comes first.

import { randomInt } from "node:crypto";
import type { MessageOf } from "../../net/protocol.js";
import { PID } from "../../messaging/addresses.js";
import type { Forwarding } from "../forwarding/forwarding.js";
import type { MailCounters } from "../views.js";
import type { Names } from "./names.js";
import type { Message } from "../../net/protocol.js";

/** How long an attempt waits for its answer before the message is sent again. */
const ATTEMPT_MS = 2000;
/** How long a message refused by a full mailbox waits for word of room before it is tried again (doubling up to ROOM_RETRY_MAX_MS). */
const ROOM_RETRY_MS = 500;
const ROOM_RETRY_MAX_MS = 5000;
/** How long a message held by a handover waits before it is tried again (the copy held goes on by itself). */
const HELD_RETRY_MS = 5000;
const BACKOFF_MIN_MS = 50;
const BACKOFF_MAX_MS = 1000;
/** Attempts of one delivery whose answers are still taken (older ones are forgotten). */
const KEEP_ATTEMPTS = 32;

export interface DeliveryEnv {
  self: string;
  forwarding: Forwarding;
  names: Names;
  sendTo(node: string, m: Message): boolean;
  /** a message for this node to take or pass on (the post office's receiving side) */
  receive(frame: MessageOf<"mail">): void;
  counters: MailCounters;
  deliverTimeoutMs: number;
  event(line: string): void;
}

/** How a send ended. */
export interface Sent {
  ok: boolean;
  /** the receiver's pid (null: the name named nobody) */
  pid: string | null;
  /** extra node hops of the copy that was taken */
  hops: number;
  /** from the start of the send to its answer */
  ms: number;
  /** why not, when not */
  why: string | null;
}

interface Delivery {
  /** whose send it is: a pid, or a client's id (dropped together when that process leaves) */
  owner: string;
  from: string;
  /** the sender id its receiver knows it by */
  src: string;
  n: number;
  to: string;
  /** the name it was sent to, if it was */
  name: string | null;
  looked: boolean;
  data: Uint8Array;
  started: number;
  /** when the receiver last showed it is alive (the bound counts from here) */
  progress: number;
  target: string;
  /** the attempt whose answers count ("moved", "full", "stuck" of older ones are stale) */
  current: number;
  ids: number[];
  timer: NodeJS.Timeout | null;
  waitingRoom: boolean;
  backoff: number;
  /** "full" answers in a row (its retries without word of room space out) */
  fulls: number;
  why: string;
  done(s: Sent): void;
}

export class Deliveries {
  private readonly byId = new Map<number, Delivery>();
  private readonly live = new Set<Delivery>();
  private nextId = randomInt(2 ** 31);

  constructor(private readonly env: DeliveryEnv) {}

  /** Sends `data` from `from` (sender id src, its send number n) to a pid or a name; resolves once it is delivered or cannot be. */
  post(owner: string, from: string, src: string, n: number, to: string, data: Uint8Array): Promise<Sent> {
    return new Promise((done) => {
      const now = performance.now();
      const d: Delivery = {
        owner,
        from,
        src,
        n,
        to,
        name: PID.test(to) ? null : to,
        looked: false,
        data,
        started: now,
        progress: now,
        target: "",
        current: 0,
        ids: [],
        timer: null,
        waitingRoom: false,
        backoff: BACKOFF_MIN_MS,
        fulls: 0,
        why: "no answer",
        done,
      };
      this.live.add(d);
      if (d.name === null) return this.aim(d, to);
      this.env.names.resolve(d.name).then(
        (pid) => (pid === null ? this.finish(d, false, 0, `no process is named ${to}`) : this.aim(d, pid)),
        (e: Error) => this.finish(d, false, 0, `looking up ${to} failed: ${e.message}`),
      );
    });
  }

  /** Points the delivery at a process and makes the first attempt. */
  private aim(d: Delivery, pid: string): void {
    if (!this.live.has(d)) return;
    d.to = pid;
    d.target = this.env.forwarding.target(pid);
    this.attempt(d);
  }

  private attempt(d: Delivery): void {
    if (!this.live.has(d)) return;
    this.clearTimer(d);
    if (performance.now() - d.progress > this.env.deliverTimeoutMs) return this.giveUp(d);
    const id = (this.nextId = (this.nextId + 1) % 2 ** 32);
    d.current = id;
    d.waitingRoom = false;
    d.ids.push(id);
    this.byId.set(id, d);
    if (d.ids.length > KEEP_ATTEMPTS) this.byId.delete(d.ids.shift()!);
    d.timer = setTimeout(() => this.again(d, `no answer from node ${d.target}`), ATTEMPT_MS);
    const frame: MessageOf<"mail"> = {
      t: "mail",
      id,
      from: d.from,
      src: d.src,
      n: d.n,
      to: d.to,
      replyTo: this.env.self,
      hops: 0,
      path: [],
      data: d.data,
    };
    if (d.target === this.env.self) this.env.receive(frame);
    else if (!this.env.sendTo(d.target, frame)) {
      this.clearTimer(d);
      d.current = 0;
      void this.redirect(d, d.target, this.env.forwarding.unreachable(d.to, d.target), `node ${d.target} cannot be reached`);
    }
  }

  /** Tries again now (counted as a resend). */
  private again(d: Delivery, why: string): void {
    d.why = why;
    this.env.counters.resent++;
    this.attempt(d);
  }

  /** Tries again after the back-off pause (`keep`: the last attempt's answers still count: its copy is held, and goes on). */
  private later(d: Delivery, why: string, ms = d.backoff, keep = false): void {
    this.clearTimer(d);
    d.why = why;
    if (!keep) d.current = 0;
    d.timer = setTimeout(() => this.again(d, why), ms);
    d.backoff = Math.min(d.backoff * 2, BACKOFF_MAX_MS);
  }

  /** An answer to one of this node's attempts. */
  onAck(m: MessageOf<"mailAck">): void {
    const d = this.byId.get(m.id);
    if (!d || !this.live.has(d) || m.src !== d.src || m.n !== d.n || m.to !== d.to) return;
    const current = m.id === d.current;
    switch (m.outcome) {
      case "delivered":
      case "dup":
        this.env.forwarding.delivered(d.to, m.at);
        return this.finish(d, true, m.hops, null);
      case "ended":
      case "unknown":
        return this.notThere(d, m.outcome);
      case "refused":
        return this.finish(d, false, 0, `process ${d.to} cannot take a message from itself while its mailbox is full`);
      case "full":
        if (!current) return;
        d.progress = performance.now();
        d.waitingRoom = true;
        return this.later(d, `the mailbox of ${d.to} is full`, Math.min(ROOM_RETRY_MS * 2 ** d.fulls++, ROOM_RETRY_MAX_MS));
      case "held":
        if (!current) return;
        d.progress = performance.now();
        return this.later(d, `${d.to} is in a handover`, HELD_RETRY_MS, true);
      case "stuck":
        if (!current) return;
        return this.later(d, `node ${m.at}, on the way to ${d.to}, cannot be reached`);
      case "moved":
        if (!current) return;
        this.clearTimer(d);
        d.current = 0;
        void this.redirect(d, "", this.env.forwarding.returned(d.to, m.at), `returned by node ${m.at}`);
    }
  }

  /** Goes where the mechanism says after node `from` returned the message or could not be reached. */
  private async redirect(
    d: Delivery,
    from: string,
    where: Promise<string | "ended" | "unknown" | "unreachable">,
    why: string,
  ): Promise<void> {
    let next: string;
    try {
      next = await where;
    } catch (e) {
      return this.later(d, `${why} (and finding it failed: ${(e as Error).message})`);
    }
    if (!this.live.has(d)) return;
    if (next === "ended" || next === "unknown") return this.notThere(d, next);
    if (next === "unreachable" || next === from) return this.later(d, why);
    d.target = next;
    this.again(d, why);
  }

  /** The process has ended or does not exist: false, unless a name now names another. */
  private notThere(d: Delivery, outcome: "ended" | "unknown"): void {
    const why = outcome === "ended" ? `process ${d.to} has ended` : `no process ${d.to} exists`;
    if (d.name === null || d.looked) return this.finish(d, false, 0, why);
    d.looked = true;
    this.env.names.forget(d.name);
    this.env.names.whereis(d.name).then(
      (pid) => (pid !== null && pid !== d.to ? this.aim(d, pid) : this.finish(d, false, 0, why)),
      () => this.finish(d, false, 0, why),
    );
  }

  /** The receiver's mailbox has room again: what waits for it goes now. */
  onRoom(pid: string): void {
    for (const d of this.live) {
      if (d.to !== pid || !d.waitingRoom) continue;
      d.waitingRoom = false;
      this.again(d, "there is room again");
    }
  }

  /** Drops the deliveries of `owner` (it left this node, or ended): they are not answered. */
  cancel(owner: string): void {
    for (const d of this.live) if (d.owner === owner) this.drop(d);
  }

  /** Drops every delivery (the node is stopping). */
  close(): void {
    for (const d of this.live) this.drop(d);
  }

  private giveUp(d: Delivery): void {
    this.env.counters.undeliverable++;
    const secs = ((performance.now() - d.started) / 1000).toFixed(1);
    const why = `message from ${d.from} to ${d.to} (its send ${d.n}) not delivered after ${secs} s: ${d.why}`;
    this.env.event(`${why}; its send returns false`);
    this.finish(d, false, 0, why);
  }

  private finish(d: Delivery, ok: boolean, hops: number, why: string | null): void {
    if (!this.live.has(d)) return;
    this.drop(d);
    if (ok) this.env.counters.sent++;
    d.done({ ok, pid: d.name !== null && !ok && !PID.test(d.to) ? null : d.to, hops, ms: performance.now() - d.started, why });
  }

  private drop(d: Delivery): void {
    this.live.delete(d);
    this.clearTimer(d);
    for (const id of d.ids) this.byId.delete(id);
  }

  private clearTimer(d: Delivery): void {
    if (d.timer) clearTimeout(d.timer);
    d.timer = null;
  }
}
