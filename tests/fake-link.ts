// A stand-in for a node link in unit tests: it records what is sent on it,
// and delivers messages and a close to whatever listens, as a real link would.

import { EventEmitter } from "node:events";
import type { MessageLink } from "../host/net/link.js";
import type { Message } from "../host/net/protocol.js";
import { Peers } from "../host/cluster/peers.js";
import { Router } from "../host/cluster/router.js";
import { NO_MAIL_COUNTERS } from "../host/cluster/views.js";

export class FakeLink extends EventEmitter implements MessageLink {
  readonly sent: Message[] = [];
  open = true;
  buffered = 0;

  constructor(public peer: string) {
    super();
  }

  send(m: Message): void {
    if (this.open) this.sent.push(m);
  }

  async drain(): Promise<boolean> {
    return true;
  }

  close(code = 1000, reason = ""): void {
    if (!this.open) return;
    this.open = false;
    this.emit("close", code, reason);
  }

  /** A message arrives from the peer. */
  deliver(m: Message): void {
    this.emit("message", m);
  }

  /** The messages of one type sent so far. */
  sentOf<T extends Message["t"]>(t: T): Array<Extract<Message, { t: T }>> {
    return this.sent.filter((m) => m.t === t) as Array<Extract<Message, { t: T }>>;
  }
}

/** Node A's router and peer links, with a heartbeat of 100 ms, an empty state, and its events collected. */
export function nodeA(): { router: Router; peers: Peers; events: string[] } {
  const events: string[] = [];
  const router = new Router((l) => events.push(l));
  const state = () => ({ url: "ws://a", loopMs: 0, memory: 0, maxMemory: 0, cpus: 1, demand: 0, procs: [], mail: NO_MAIL_COUNTERS });
  const o = {
    name: "A",
    secret: Buffer.alloc(0),
    maxFrame: 1 << 20,
    heartbeatMs: 100,
    url: () => "ws://a",
    state,
    event: (l: string) => events.push(l),
    forwarding: "traversal",
    highestPid: () => 0,
    pidsUpTo: () => undefined,
  };
  return { router, peers: new Peers(o, router), events };
}
