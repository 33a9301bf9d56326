// A question to every up member, each answering once: the cluster-wide `ps`
// (cluster-view.ts), locating a process (messaging/locator.ts), and the
// claims and queries on names (messaging/names.ts). A question ends when every
// member asked has answered, when `enough` says an answer settles it, or after
// its time; a member whose link closes meanwhile counts as silent.

import { randomInt } from "node:crypto";
import type { Message } from "../net/protocol.js";
import type { Peers } from "./peers.js";

export interface Answers<A> {
  /** by member */
  answers: Map<string, A>;
  /** the members asked that did not answer in time (or went away) */
  silent: string[];
}

interface Open<A> {
  waiting: Set<string>;
  heard(peer: string, a: A | null): void;
}

export class Queries<A> {
  private readonly open = new Map<number, Open<A>>();
  /** from a random start, so that an answer to a question of an earlier run of this node is not taken for one now */
  private qid = randomInt(2 ** 31);

  constructor(private readonly peers: Peers) {
    peers.onGone((peer) => {
      for (const q of this.open.values()) q.heard(peer, null);
    });
  }

  /** Asks every up member (`build` makes the question, with its id); resolves with the answers. */
  ask(build: (qid: number) => Message, ms: number, enough: (a: A) => boolean = () => false): Promise<Answers<A>> {
    const links = this.peers.membership.links();
    const answers = new Map<string, A>();
    const qid = (this.qid = (this.qid + 1) % 2 ** 32);
    return new Promise((resolve) => {
      const q: Open<A> = {
        waiting: new Set(links.map((l) => l.peer)),
        heard: (peer, a) => {
          if (!q.waiting.delete(peer)) return;
          if (a === null) silent.push(peer);
          else {
            answers.set(peer, a);
            if (enough(a)) return done();
          }
          if (q.waiting.size === 0) done();
        },
      };
      const silent: string[] = [];
      const done = () => {
        clearTimeout(timer);
        this.open.delete(qid);
        resolve({ answers, silent: [...silent, ...q.waiting] });
      };
      const timer = setTimeout(done, ms);
      if (links.length === 0) return done();
      this.open.set(qid, q);
      const m = build(qid);
      for (const link of links) link.send(m);
    });
  }

  /** Member `peer` answered question `qid`. */
  answer(peer: string, qid: number, a: A): void {
    this.open.get(qid)?.heard(peer, a);
  }
}
