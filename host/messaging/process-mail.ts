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
// after a migration) and is acknowledged without being queued again.
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
  next: number;
  inbox: Array<{ i: number; from: string; data: string }>;
  seen: Record<string, number>;
  pending: { n: number; to: string; data: string; result: boolean | null } | null;
  holders: string[];
  name: string | null;
}

export const MAIL_STATE: Shape<MailState> = object({
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
  private readonly seen = new Map<string, number>();
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
    if (!state) return;
    this.next = state.next;
    this.inbox = state.inbox.map((l) => ({ i: l.i, from: l.from, data: unb64(l.data) }));
    this.bytes = this.inbox.reduce((a, l) => a + l.data.length, 0);
    for (const [from, n] of Object.entries(state.seen)) this.seen.set(from, n);
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

  /** Whether message n of `from` has been accepted already. */
  has(from: string, n: number): boolean {
    return n <= (this.seen.get(from) ?? 0);
  }

  /**
   * Takes message n of `from` (sent through node `via`) unless it is a copy
   * or does not fit; a message taken goes to the guest's inbox at once.
   */
  accept(from: string, n: number, data: Uint8Array, via: string): Acceptance {
    this.holders.add(via);
    if (this.has(from, n)) return "dup";
    if (this.inbox.length > 0 && (this.full || this.bytes + data.length > MAX_BYTES)) {
      this.waiters.add(via);
      return "full";
    }
    this.seen.delete(from);
    this.seen.set(from, n);
    if (this.seen.size > MAX_SENDERS) this.seen.delete(this.seen.keys().next().value!);
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
    const wasFull = this.full;
    while (this.inbox.length && this.inbox[0].i <= i) this.bytes -= this.inbox.shift()!.data.length;
    if (!wasFull || this.full || this.waiters.size === 0) return [];
    const tell = [...this.waiters];
    this.waiters.clear();
    return tell;
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
    this.took(cursor.received);
    if (this.pending && this.pending.n <= cursor.sent) this.pending = null;
  }

  state(): MailState {
    const p = this.pending;
    return {
      next: this.next,
      inbox: this.inbox.map((l) => ({ i: l.i, from: l.from, data: b64(l.data) })),
      seen: Object.fromEntries(this.seen),
      pending: p && { n: p.n, to: p.to, data: b64(p.data), result: p.result },
      holders: [...this.holders],
      name: this.name,
    };
  }
}
