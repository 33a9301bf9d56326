// A peer of a real node for the hostile-value tests: an authenticated member
// (a node link that has joined the cluster) or client, that sends well-formed
// frames and records every frame that comes back, and how its link closed.
// A member keeps itself up (any frame counts as hearing it) and answers the
// node's procsQuery at once, so that the node's ps does not wait for it.

import { connect, type Link } from "../host/net/link.js";
import type { Message } from "../host/net/protocol.js";

const SECRET = Buffer.alloc(0);

export class Peer {
  readonly got: Message[] = [];
  closed: { code: number; reason: string } | null = null;
  private waiters: Array<() => void> = [];
  private keepalive: NodeJS.Timeout | null = null;

  private constructor(
    readonly link: Link,
    readonly name: string,
  ) {
    link.on("message", (m: Message) => {
      this.got.push(m);
      if (m.t === "procsQuery") link.send({ t: "procsReply", qid: m.qid, list: [] });
      this.wake();
    });
    link.on("close", (code: number, reason: string) => {
      this.closed = { code, reason };
      if (this.keepalive) clearInterval(this.keepalive);
      this.wake();
    });
    link.on("failure", () => undefined);
  }

  /** Joins the cluster of the node at `url` as member `name`. */
  static async member(url: string, name: string): Promise<Peer> {
    const p = new Peer(await connect(url, { secret: SECRET, role: "node", name }), name);
    p.send({ t: "join", name, url: "ws://127.0.0.1:9", forwarding: "traversal", balance: "off", threshold: 0.25 });
    await p.next((m) => (m.t === "members" ? m : undefined), 5000, "the member list");
    // a frame no part of the node takes: it only says that this member lives
    p.keepalive = setInterval(() => p.send({ t: "locAck", id: 0 }), 200);
    return p;
  }

  static async client(url: string, name = "hostile-client"): Promise<Peer> {
    return new Peer(await connect(url, { secret: SECRET, role: "client", name }), name);
  }

  get open(): boolean {
    return this.link.open;
  }

  send(m: Message): void {
    this.link.send(m);
  }

  /** Sends raw bytes as one binary frame (a frame encode() would refuse to make). */
  sendRaw(frame: Buffer): void {
    this.link.ws.send(frame);
  }

  close(): void {
    if (this.keepalive) clearInterval(this.keepalive);
    this.link.close();
  }

  /** The first frame from index `from` on that `pick` takes (now or when it comes); rejects after `ms`. */
  next<T>(pick: (m: Message) => T | undefined, ms: number, what: string, from = 0): Promise<T> {
    return this.until(
      () => {
        for (const m of this.got.slice(from)) {
          const v = pick(m);
          if (v !== undefined) return v;
        }
        return undefined;
      },
      ms,
      what,
    );
  }

  /** How the link closed, once it has (within `ms`). */
  closedWithin(ms: number): Promise<{ code: number; reason: string }> {
    return this.until(() => this.closed ?? undefined, ms, "the link to close");
  }

  private until<T>(check: () => T | undefined, ms: number, what: string): Promise<T> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${this.name}: no ${what} within ${ms} ms (got ${this.got.map((m) => m.t).join(" ")})`)),
        ms,
      );
      const look = () => {
        const v = check();
        if (v === undefined) return void this.waiters.push(look);
        clearTimeout(timer);
        resolve(v);
      };
      look();
    });
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }
}
