// The worker's side of a process's messages: what the node has put into the
// worker's inbox port, read synchronously (receiveMessageOnPort) while the
// guest waits in an import, and the guest's cursor in its traffic.
//
// The node numbers the messages of a process's mailbox and posts each one
// the moment it is accepted; a new worker is given every one not received
// yet, so the inbox keeps only those past the cursor and skips any it is given
// twice. The cursor (last message received, last send completed, last sender)
// is part of the frozen state: after a freeze the node knows exactly what the
// guest has taken, and a send under way is the one numbered `sent + 1`.
//
// Waiting is on the wake word: the node bumps it after every post (and to
// freeze), so a guest blocked in recv or send sleeps in Atomics.wait and wakes
// for a message, an outcome, an answer or a freeze request.

import { receiveMessageOnPort, type MessagePort } from "node:worker_threads";
import { CTRL_WAKE } from "../memory/layout.js";
import { NO_MAIL, type MailCursor, type ToInbox } from "./messages.js";
import type { GuestClock } from "./guest-clock.js";

type Letter = Extract<ToInbox, { t: "msg" }>;
export type Answer = string | boolean | null;
export type Waited = "ready" | "timeout" | "interrupted";

export class Inbox {
  cursor: MailCursor = { ...NO_MAIL };
  private readonly queued: Letter[] = [];
  private lastQueued = 0;
  /** the outcome of the send under way (number cursor.sent + 1), once the node said it */
  private outcome: boolean | null = null;
  private readonly answers = new Map<number, Answer>();

  constructor(
    private readonly port: MessagePort,
    private readonly ctrl: Int32Array,
    private readonly interrupted: () => boolean,
    private readonly clock: GuestClock,
  ) {}

  /** Reads whatever the node has put in the port. */
  private read(): void {
    for (let r = receiveMessageOnPort(this.port); r; r = receiveMessageOnPort(this.port)) {
      const m = r.message as ToInbox;
      if (m.t === "msg") {
        if (m.i > this.cursor.received && m.i > this.lastQueued) {
          this.queued.push(m);
          this.lastQueued = m.i;
        }
      } else if (m.t === "sent") {
        if (m.n === this.cursor.sent + 1) this.outcome = m.ok;
      } else this.answers.set(m.id, m.value);
    }
  }

  /**
   * Waits on the wake word until `ready()`, the deadline (performance.now()
   * ms; Infinity: none), or (if `freezable`) a freeze request, reading the
   * port each time the word moves.
   */
  wait(ready: () => boolean, deadline: number, freezable = true): Waited {
    this.read();
    if (ready()) return "ready";
    return this.clock.waiting(() => this.waitLong(ready, deadline, freezable));
  }

  private waitLong(ready: () => boolean, deadline: number, freezable: boolean): Waited {
    for (;;) {
      this.read();
      if (ready()) return "ready";
      const left = deadline - performance.now();
      if (left <= 0) return "timeout";
      if (freezable && this.interrupted()) return "interrupted";
      const seen = Atomics.load(this.ctrl, CTRL_WAKE);
      this.read();
      if (ready() || (freezable && this.interrupted())) continue;
      Atomics.wait(this.ctrl, CTRL_WAKE, seen, Math.min(left, 1000));
    }
  }

  /** Waits for a message (see wait). */
  waitForMessage(deadline: number): Waited {
    return this.wait(() => this.queued.length > 0, deadline);
  }

  /** Takes the next message (after waitForMessage said "ready"): the cursor moves past it. */
  take(): Letter {
    const m = this.queued.shift()!;
    this.cursor.received = m.i;
    this.cursor.sender = m.from;
    return m;
  }

  /** A new send begins: any outcome heard belongs to the one before. */
  beginSend(): void {
    this.outcome = null;
  }

  /** Waits for the outcome of the send under way (see wait). */
  waitForOutcome(): Waited {
    return this.wait(() => this.outcome !== null, Infinity);
  }

  /** The send under way is over: the cursor counts it; its outcome. */
  endSend(): boolean {
    const ok = this.outcome!;
    this.outcome = null;
    this.cursor.sent++;
    return ok;
  }

  /** Waits (not a freeze point) for the node's answer to request `id`, until `deadline`; undefined if none came. */
  answer(id: number, deadline: number): Answer | undefined {
    if (this.wait(() => this.answers.has(id), deadline, false) !== "ready") return undefined;
    const v = this.answers.get(id)!;
    this.answers.delete(id);
    return v;
  }
}
