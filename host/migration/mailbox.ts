// The messages of one migration, as they arrive on a node link (the node
// routes them here by migration id), waited for by type with a time limit.
// The queue is bounded: a peer that sends more messages nobody waits for than
// the box holds (MAX_QUEUED faults during pre-copy, a second module) breaks the
// protocol.

import { MigrantError } from "../errors.js";
import { ProtocolError, type Message, type MessageOf, type MessageType } from "../net/protocol.js";

/** More messages waiting than any migration has outstanding: post-copy has one fault per guest at a time. */
const MAX_QUEUED = 10_000;

/** No message of the types waited for came in time (the peer is silent, not gone). */
export class MailboxTimeout extends MigrantError {}

export class Mailbox {
  private queue: Message[] = [];
  private waiter: { types: string[]; resolve(m: Message): void; reject(e: Error): void } | null = null;
  private failure: Error | null = null;

  /** `capacity`: how many messages may wait here (a module's box: one, as each is up to a frame) */
  constructor(private readonly capacity = MAX_QUEUED) {}

  deliver(m: Message): void {
    const w = this.waiter;
    if (w && w.types.includes(m.t)) {
      this.waiter = null;
      w.resolve(m);
      return;
    }
    if (this.queue.length >= this.capacity)
      throw new ProtocolError("field", `${m.t}: more than ${this.capacity} messages nobody asked for`);
    this.queue.push(m);
  }

  /** Everything waiting now fails with `e` (the link closed, the peer died). */
  fail(e: Error): void {
    this.failure = e;
    this.waiter?.reject(e);
    this.waiter = null;
  }

  /** Takes queued messages of a type (non-blocking). */
  take<T extends MessageType>(type: T): MessageOf<T>[] {
    const hit = this.queue.filter((m) => m.t === type) as MessageOf<T>[];
    this.queue = this.queue.filter((m) => m.t !== type);
    return hit;
  }

  next<T extends MessageType>(types: T[], ms: number): Promise<MessageOf<T>> {
    if (this.failure) return Promise.reject(this.failure);
    const i = this.queue.findIndex((m) => (types as string[]).includes(m.t));
    if (i >= 0) return Promise.resolve(this.queue.splice(i, 1)[0] as MessageOf<T>);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = null;
        reject(new MailboxTimeout(`no ${types.join("/")} from the other node within ${ms} ms`));
      }, ms);
      this.waiter = {
        types,
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m as MessageOf<T>);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
    });
  }
}
