// The mailbox of one process, as its node keeps it: the messages accepted for
// it and not yet received, what it has accepted from each sender (so that a
// message sent twice is taken once), its one send under way, its registered
// name, and the nodes that have sent to it (the link holders of forwarding by
// update). It travels with the process: in a migration's handover and in a
// snapshot (state()).
//
// Exactly once, in order. A sender numbers its sends 1, 2, 3 ... and has at
// most one under way (the guest waits in `send` until it is accepted), so the
// receiver needs only the highest number it accepted from each sender: a
// message numbered at or below it is a copy (a resend after a lost
// acknowledgement, or the same send driven again by the sender's new node
// after a migration) and is acknowledged without being queued again. A sender
// is known by its sender id (`sid`: random, made when the process is made,
// and it travels with it), not by its pid: a pid handed out again by a node
// restarted under its old name must not have its messages taken for copies.
// A client's one-off sends (`migrant send`, ids "client-...") are kept apart,
// in a smaller set, so that many of them never push a process out.
//
// The mailbox is bounded (`capacity` messages, MAX_BYTES bytes): a message that
// does not fit is answered "full" and not taken; its sender's node keeps it
// and tries again when told there is room (the node records who waits:
// `waiters`). Nothing is dropped.
//
// The node puts every accepted message into the worker's inbox at once
// (GuestProcess.toInbox); the worker says which it took. A new worker (a
// variant switch, an arrival, a restore) is given every message not taken yet,
// and the outcome of the send under way if it is known. At a freeze the
// worker's cursor (MailCursor) says exactly what the guest has taken
// (reconcile); the rest travels.

import { randomBytes } from "node:crypto";
import type { GuestProcess } from "../process.js";
import type { MailCursor } from "../worker/messages.js";
import { array, boolean, count, nullable, object, record, string, type Shape } from "../net/shape.js";

/** The largest message a process may send (a guest that sends more is stopped with an error that says so). */
export const MAX_MESSAGE = 1 << 20;
/** The most bytes a mailbox holds (a message is never refused for size alone when the mailbox is empty). */
export const MAX_BYTES = 16 << 20;
/** How many messages a mailbox holds unless the node says otherwise (`--mailbox`). */
export const DEFAULT_CAPACITY = 256;
/** Senders a mailbox remembers the last number of (the oldest is forgotten first). */
const MAX_SENDERS = 10_000;
/** Nodes a mailbox remembers as having sent to it (link holders). */
const MAX_HOLDERS = 1_000;
/** Clients (`migrant send`) a mailbox remembers, apart from the processes. */
const MAX_CLIENTS = 1_000;
/** What a client's sender id begins with. */
export const CLIENT_SENDER = "client-";

/** A new sender id: 128 random bits, so that two never meet. */
export const newSenderId = (prefix = ""): string => prefix + randomBytes(16).toString("hex");

export interface Letter {
  /** its number in this process's mailbox (from 1) */
  i: number;
  from: string;
  data: Uint8Array;
}

/** The process's send under way: number n, and its outcome once known. */
export interface Outgoing {
  n: number;
  to: string;
  data: Uint8Array;
  result: boolean | null;
}

export type Acceptance = "delivered" | "dup" | "full";

/** The mailbox as it travels (JSON; message bytes in base64). */
export interface MailState {
  /** this process's sender id */
  sid: string;
  next: number;
  inbox: Array<{ i: number; from: string; data: string }>;
  seen: Record<string, number>;
  pending: { n: number; to: string; data: string; result: boolean | null } | null;
  holders: string[];
  name: string | null;
}

export const MAIL_STATE: Shape<MailState> = object({
  sid: string,
  next: count,
  inbox: array(object({ i: count, from: string, data: string })),
  seen: record(count),
  pending: nullable(object({ n: count, to: string, data: string, result: nullable(boolean) })),
  holders: array(string),
  name: nullable(string),
});

const b64 = (d: Uint8Array) => Buffer.from(d.buffer, d.byteOffset, d.byteLength).toString("base64");
const unb64 = (s: string) => new Uint8Array(Buffer.from(s, "base64"));

export class ProcessMail {
  private inbox: Letter[] = [];
  private bytes = 0;
  private next = 1;
  /** the highest number taken from each sender (processes; clients apart), by sender id */
  private readonly seen = new Map<string, number>();
  private readonly clients = new Map<string, number>();
  /** this process's sender id (its messages are known by it) */
  readonly sid: string;
  /** the send under way (kept, with its outcome, until the guest has it) */
  pending: Outgoing | null = null;
  /** nodes that have sent to this process */
  readonly holders = new Set<string>();
  /** nodes told "full" since the mailbox last had room (not carried: their retry timers cover a move) */
  readonly waiters = new Set<string>();
  /** the cluster-wide name the process registered */
  name: string | null = null;
  private worker: GuestProcess | null = null;

  constructor(
    readonly capacity = DEFAULT_CAPACITY,
    state?: MailState,
  ) {
    this.sid = state?.sid ?? newSenderId();
    if (!state) return;
    this.next = state.next;
    this.inbox = state.inbox.map((l) => ({ i: l.i, from: l.from, data: unb64(l.data) }));
    this.bytes = this.inbox.reduce((a, l) => a + l.data.length, 0);
    for (const [src, n] of Object.entries(state.seen)) this.senders(src).set(src, n);
    const p = state.pending;
    this.pending = p && { n: p.n, to: p.to, data: unb64(p.data), result: p.result };
    for (const h of state.holders) this.holders.add(h);
    this.name = state.name;
  }

  /** Messages accepted and not received yet. */
  get depth(): number {
    return this.inbox.length;
  }

  private get full(): boolean {
    return this.inbox.length >= this.capacity || this.bytes >= MAX_BYTES;
  }

  private senders(src: string): Map<string, number> {
    return src.startsWith(CLIENT_SENDER) ? this.clients : this.seen;
  }

  /** Whether message n of sender `src` has been accepted already. */
  has(src: string, n: number): boolean {
    return n <= (this.senders(src).get(src) ?? 0);
  }

  /**
   * Takes message n of sender `src` (the process `from`, through node `via`;
   * "" if that is no member) unless it is a copy or does not fit; a message
   * taken goes to the guest's inbox at once.
   */
  accept(from: string, src: string, n: number, data: Uint8Array, via: string): Acceptance {
    if (via && this.holders.size < MAX_HOLDERS) this.holders.add(via);
    if (this.has(src, n)) return "dup";
    if (this.inbox.length > 0 && (this.full || this.bytes + data.length > MAX_BYTES)) {
      if (via) this.waiters.add(via);
      return "full";
    }
    const seen = this.senders(src);
    seen.delete(src);
    seen.set(src, n);
    if (seen.size > (seen === this.clients ? MAX_CLIENTS : MAX_SENDERS)) seen.delete(seen.keys().next().value!);
    const letter = { i: this.next++, from, data };
    this.inbox.push(letter);
    this.bytes += data.length;
    this.worker?.toInbox({ t: "msg", ...letter });
    return "delivered";
  }

  /**
   * The guest received message i (and every one before it). Returns the nodes
   * to tell that there is room now (those that were told "full"), once.
   */
  took(i: number): string[] {
    this.drop(i);
    if (this.full || this.waiters.size === 0) return [];
    const tell = [...this.waiters];
    this.waiters.clear();
    return tell;
  }

  private drop(i: number): void {
    while (this.inbox.length && this.inbox[0].i <= i) this.bytes -= this.inbox.shift()!.data.length;
  }

  /** The process has ended: what it did not receive is let go; what it took from whom is kept (a late copy is a dup). */
  ended(): void {
    this.inbox = [];
    this.bytes = 0;
    this.pending = null;
    this.worker = null;
  }

  /** The guest began send number n. */
  send(n: number, to: string, data: Uint8Array): Outgoing {
    this.pending = { n, to, data, result: null };
    return this.pending;
  }

  /** The outcome of the send under way: the guest is told. */
  complete(out: Outgoing, ok: boolean): void {
    if (this.pending !== out || out.result !== null) return;
    out.result = ok;
    this.worker?.toInbox({ t: "sent", n: out.n, ok });
  }

  /** `gp` runs the process now: it gets every message not received yet, and a known outcome of the send under way. */
  attach(gp: GuestProcess): void {
    this.worker = gp;
    for (const l of this.inbox) gp.toInbox({ t: "msg", ...l });
    if (this.pending && this.pending.result !== null) gp.toInbox({ t: "sent", n: this.pending.n, ok: this.pending.result });
  }

  /** At a freeze: what the guest has taken and which sends it has seen end, exactly. */
  reconcile(cursor: MailCursor): void {
    this.drop(cursor.received);
    if (this.pending && this.pending.n <= cursor.sent) this.pending = null;
  }

  state(): MailState {
    const p = this.pending;
    return {
      sid: this.sid,
      next: this.next,
      inbox: this.inbox.map((l) => ({ i: l.i, from: l.from, data: b64(l.data) })),
      seen: Object.fromEntries([...this.seen, ...this.clients]),
      pending: p && { n: p.n, to: p.to, data: b64(p.data), result: p.result },
      holders: [...this.holders],
      name: this.name,
    };
  }
}
