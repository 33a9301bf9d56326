// The location policy of the balancer: where a process goes, found by asking
// a few nodes rather than all. A sender (an overloaded node) probes PROBE_K
// random up members at once (balanceProbe); each answers its capacity, its
// demand (with what it has reserved) and whether a balancer move is in flight
// there (balanceLoad). Of those that answered within PROBE_MS, are not busy and
// have room for the process, the one with the most room takes it. The sender
// then offers the process to it (balanceOffer): the destination checks again,
// reserves the room, and answers (balanceAccept). A receiver (a node with
// room for one more process) asks PROBE_K random members for work, one after
// the other (balanceAsk); the first that answers with a pid (balanceAnswer)
// sends it. Answers are matched to questions by member and question id; one
// that comes too late is handed to `late` (a process may be on its way).

import { randomInt } from "node:crypto";
import type { MessageOf } from "../net/protocol.js";
import type { MessageLink } from "../net/link.js";
import type { Message } from "../net/protocol.js";
import type { Peers } from "../cluster/peers.js";
import type { Router } from "../cluster/router.js";
import { roomFor } from "./transfer.js";
import { checkAccept, checkAnswer, checkLoad } from "./checks.js";

/** How many members a sender probes, or a receiver asks. */
export const PROBE_K = 3;
/** How long a probe waits for its answer; an ask or an offer (which a node may act on), longer. */
export const PROBE_MS = 1000;
export const ANSWER_MS = 2000;

export interface Candidate {
  name: string;
  cpus: number;
  demand: number;
  busy: boolean;
}

/** Of the candidates, the one with the most room that is not busy and fits `share` (ties: by name); null if none. */
export function bestDestination<C extends Candidate>(candidates: C[], share: number): C | null {
  const fit = candidates.filter((c) => !c.busy && roomFor(c, share));
  fit.sort((a, b) => b.cpus - b.demand - (a.cpus - a.demand) || a.name.localeCompare(b.name));
  return fit[0] ?? null;
}

/** Up to `k` different items of `list`, at random. */
export function pickRandom<T>(list: T[], k: number): T[] {
  const rest = [...list];
  const out: T[] = [];
  while (out.length < k && rest.length) out.push(rest.splice(randomInt(rest.length), 1)[0]);
  return out;
}

type Answer = MessageOf<"balanceLoad" | "balanceAnswer" | "balanceAccept">;

export class Location {
  private readonly open = new Map<string, (m: Answer | null) => void>();
  private qid = randomInt(2 ** 31);

  constructor(
    private readonly peers: Peers,
    router: Router,
    /** an answer to an ask after its time: a process may be on its way */
    private readonly late: (link: MessageLink, m: MessageOf<"balanceAnswer">) => void,
  ) {
    router.on("node", "balanceLoad", (link, m) => void this.answered(link, checkLoad(m)));
    router.on("node", "balanceAnswer", (link, m) => {
      if (!this.answered(link, checkAnswer(m))) this.late(link, m);
    });
    router.on("node", "balanceAccept", (link, m) => void this.answered(link, checkAccept(m)));
    peers.onGone((peer) => {
      for (const [k, f] of this.open) if (k.startsWith(`${peer} `)) f(null);
    });
  }

  /** The up members' names, but for this node. */
  members(): string[] {
    return this.peers.membership.links().map((l) => l.peer);
  }

  /** Probes these members at once; the answers that came in time. */
  async probe(names: string[]): Promise<Candidate[]> {
    const answers = await Promise.all(names.map((n) => this.request(n, (qid) => ({ t: "balanceProbe", qid }), PROBE_MS)));
    return answers.flatMap((a, i) =>
      a?.t === "balanceLoad" ? [{ name: names[i], cpus: a.cpus, demand: a.demand, busy: a.busy === 1 }] : [],
    );
  }

  /** Asks a member for work; the pid on its way and why ("" or null: none). */
  async ask(name: string, cpus: number, demand: number): Promise<{ pid: string; reason: string } | null> {
    const a = await this.request(name, (qid) => ({ t: "balanceAsk", qid, cpus, demand }), ANSWER_MS);
    return a?.t === "balanceAnswer" && a.pid ? { pid: a.pid, reason: a.reason } : null;
  }

  /** Offers a process to a member; whether it takes it (and why not). */
  async offer(name: string, pid: string, share: number, reason: string): Promise<{ ok: boolean; why: string }> {
    const a = await this.request(name, (qid) => ({ t: "balanceOffer", qid, pid, share, reason }), ANSWER_MS);
    if (a?.t !== "balanceAccept") return { ok: false, why: a ? `it answered ${a.t}` : `no answer within ${ANSWER_MS} ms` };
    return { ok: a.ok === 1, why: a.why };
  }

  /** Sends one question to a member; its answer, or null (no link, no answer in time, the link went). */
  private request(name: string, build: (qid: number) => Message, ms: number): Promise<Answer | null> {
    const link = this.peers.membership.up(name)?.link;
    if (!link) return Promise.resolve(null);
    const qid = (this.qid = (this.qid + 1) % 2 ** 32);
    const key = `${name} ${qid}`;
    return new Promise((resolve) => {
      const timer = setTimeout(() => done(null), ms).unref();
      const done = (m: Answer | null) => {
        clearTimeout(timer);
        this.open.delete(key);
        resolve(m);
      };
      this.open.set(key, done);
      link.send(build(qid));
    });
  }

  /** An answer: to its question, if that is open (false: it is not). */
  private answered(link: MessageLink, m: Answer): boolean {
    const f = this.open.get(`${link.peer} ${m.qid}`);
    f?.(m);
    return !!f;
  }
}
