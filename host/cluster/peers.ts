// The node's links to the other nodes: joining, heartbeats, leaving.
//
// A node joins through any member: it sends `join`, gets the member list
// (`members`), and dials each other member with a `join` of its own (the
// newcomer always dials, so each pair has exactly one link). A member answers a
// `join` unless a node of that name is up already, or the newcomer forwards
// messages, or balances load, by another mode (or threshold) than the cluster
// (`refused`, saying why and which flag to give).
//
// Every `heartbeatMs` the node sends each member a heartbeat with its own
// state (its load and process list); what each member last said goes into the
// membership table (membership.ts), which marks silent members down, and up
// again when they are heard from (any frame counts). A link that closes
// marks its member down; a `bye` marks it left. Parts of the node
// that keep state per peer (migrations under way) hear of a lost peer through
// onGone.

import { connect, CLOSE_LEAVING, type Link, type MessageLink } from "../net/link.js";
import type { TrustedCa } from "../net/tls.js";
import type { Message, MessageOf } from "../net/protocol.js";
import { MigrantError } from "../errors.js";
import { Membership, type Member } from "./membership.js";
import type { Router } from "./router.js";
import type { HeartbeatState, MemberAddress, ProcInfo } from "./views.js";

/** What a node's name must look like (the CLI checks --name the same way). */
export const NODE_NAME = /^[A-Za-z0-9_-]{1,32}$/;

/** A member silent for this many heartbeats is down. */
export const SILENT_BEATS = 6;

export interface PeersOptions {
  name: string;
  secret: Buffer;
  maxFrame: number;
  /** the CA the members' certificates are checked with (wss://) */
  ca?: TrustedCa;
  heartbeatMs: number;
  /** this node's address, once it listens */
  url: () => string;
  /** what this node's heartbeat says */
  state: () => HeartbeatState;
  /** how the cluster forwards messages to processes that moved (every member the same) */
  forwarding: string;
  /** how the cluster balances load, and its threshold (every member the same; policy/); default off, 0.25 */
  balance?: { mode: string; threshold: number };
  /** the highest pid counter of node `name` this node knows of (its own processes, the members' heartbeats) */
  highestPid(name: string): number;
  /** a member said our name's pids went up to this counter (we are a node restarted under an old name) */
  pidsUpTo(counter: number): void;
  event: (line: string) => void;
}

export class Peers {
  readonly membership: Membership;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly goneListeners: Array<(peer: string) => void> = [];
  private readonly beatListeners: Array<(peer: string, state: HeartbeatState) => void> = [];
  private leaving = false;
  /** every node link taken in and not closed yet */
  private readonly adopted = new Set<MessageLink>();

  constructor(
    private readonly o: PeersOptions,
    private readonly router: Router,
  ) {
    const onDown = (m: Member, lost: ProcInfo[]) => {
      const why = m.state === "left" ? `left (${m.reason})` : `is down (${m.reason})`;
      const which = lost.length ? `; its processes are lost: ${lost.map((p) => p.pid).join(", ")}` : "";
      o.event(`node ${m.name} ${why}${which}`);
    };
    const onUp = (m: Member, silentMs: number) => {
      const running = (m.last?.procs ?? []).filter((p) => p.state === "running").map((p) => p.pid);
      const which = running.length ? `; its processes run on: ${running.join(", ")}` : "";
      o.event(`node ${m.name} is up again (heard from after ${(silentMs / 1000).toFixed(1)} s)${which}`);
    };
    this.membership = new Membership(o.name, o.heartbeatMs * SILENT_BEATS, onDown, undefined, onUp);
    router.on("node", "heartbeat", (link, m) => {
      this.membership.heard(link.peer, m.state, link);
      for (const f of this.beatListeners) f(link.peer, m.state);
    });
    router.on("node", "bye", (link, m) => this.membership.down(link.peer, "left", m.reason));
  }

  /**
   * Starts the heartbeats and the sweep for silent members. A sweep that comes
   * far later than its period means this node was not running (stopped, or its
   * loop blocked): the members' silence is its own, so they get a fresh window.
   */
  start(): void {
    this.timers.push(setInterval(() => this.beat(), this.o.heartbeatMs));
    const period = Math.max(50, this.o.heartbeatMs / 2);
    let last = performance.now();
    let stalled = false;
    this.timers.push(
      setInterval(() => {
        const now = performance.now();
        const gap = now - last;
        last = now;
        if (gap < (this.o.heartbeatMs * SILENT_BEATS) / 2) {
          stalled = false;
          return this.membership.sweep();
        }
        this.membership.refresh();
        this.beat();
        // said once, however long the loop stays this late
        if (!stalled)
          this.o.event(
            `this node did not run for ${(gap / 1000).toFixed(1)} s (stopped, or its event loop blocked); members get a fresh window`,
          );
        stalled = true;
      }, period),
    );
  }

  /** Calls `f` with the name of every peer whose link closes. */
  onGone(f: (peer: string) => void): void {
    this.goneListeners.push(f);
  }

  /** Calls `f` with every member's heartbeat. */
  onHeartbeat(f: (peer: string, state: HeartbeatState) => void): void {
    this.beatListeners.push(f);
  }

  /** Joins the cluster through the member at `url`, then links to every other member. */
  async join(url: string): Promise<void> {
    const first = await this.dial(url);
    const list = await this.introduce(first, url);
    const via = list.find((m) => m.url === url || m.name === first.peer);
    this.adopt(first, via?.url ?? url);
    for (const m of list) {
      if (m.name === this.o.name || m.name === first.peer) continue;
      try {
        const link = await this.dial(m.url);
        await this.introduce(link, m.url);
        this.adopt(link, m.url);
      } catch (e) {
        this.o.event(`could not reach member ${m.name} at ${m.url}: ${(e as Error).message}`);
      }
    }
    this.o.event(`joined the cluster through ${url}: ${[...this.membership.members.keys()].join(", ")}`);
  }

  /** Answers a node that dialled us: its `join`, then it is a member (or refused). */
  async welcome(link: Link): Promise<void> {
    let msg: MessageOf<"join">;
    try {
      msg = await link.next(["join"]);
    } catch {
      link.close();
      return;
    }
    const existing = this.membership.members.get(msg.name);
    const refusal = !NODE_NAME.test(msg.name)
      ? "a node name is 1-32 letters, digits, - or _"
      : msg.name === this.o.name || existing?.state === "up"
        ? `a node named ${msg.name} is already in the cluster`
        : msg.forwarding !== this.o.forwarding
          ? `node ${msg.name} forwards messages by ${msg.forwarding.slice(0, 40)}, but this cluster forwards by ${this.o.forwarding}: ` +
            `start it with --forwarding ${this.o.forwarding}`
          : this.balanceRefusal(msg);
    if (refusal) {
      link.send({ t: "refused", reason: refusal });
      link.close();
      return;
    }
    const up = this.membership.nodes().filter((n) => n.state === "up");
    link.send({
      t: "members",
      list: [{ name: this.o.name, url: this.o.url() }, ...up.map((n) => ({ name: n.name, url: n.url }))],
      counter: this.o.highestPid(msg.name),
    });
    link.peer = msg.name;
    this.adopt(link, msg.url);
    this.o.event(`node ${msg.name} joined (${msg.url})`);
  }

  /** Why a newcomer that balances otherwise than this cluster may not join (null: it balances the same). */
  private balanceRefusal(msg: MessageOf<"join">): string | null {
    const { mode, threshold } = this.balance;
    if (msg.balance !== mode)
      return `node ${msg.name} balances load by ${msg.balance.slice(0, 40) || "nothing"}, but this cluster balances by ${mode}: start it with --balance ${mode}`;
    if (msg.threshold !== threshold)
      return `node ${msg.name} balances with threshold ${msg.threshold}, but this cluster's is ${threshold}: start it with --balance-threshold ${threshold}`;
    return null;
  }

  private get balance(): { mode: string; threshold: number } {
    return this.o.balance ?? { mode: "off", threshold: 0.25 };
  }

  /** Sends a message to every up member. */
  broadcast(m: Message): void {
    for (const link of this.membership.links()) link.send(m);
  }

  /** Says `bye` to every member and closes the links (a clean stop). */
  leave(reason: string): void {
    this.leaving = true;
    for (const link of [...this.adopted].filter((l) => l.open)) {
      link.send({ t: "bye", reason });
      link.close(CLOSE_LEAVING, reason);
    }
  }

  /** Stops the timers and closes every link (also one to a member marked down while its link stayed open). */
  close(): void {
    this.leaving = true;
    for (const t of this.timers) clearInterval(t);
    for (const link of this.adopted) link.close(CLOSE_LEAVING, "leaving");
  }

  /**
   * Sends this node's heartbeat to every member now, and on every open link to
   * a member marked down: that is how a member that stood still hears us again.
   */
  beat(): void {
    const m = this.heartbeat();
    for (const link of this.adopted) if (link.open) link.send(m);
  }

  private heartbeat(): Message {
    return { t: "heartbeat", name: this.o.name, state: this.o.state() };
  }

  private dial(url: string): Promise<Link> {
    return connect(url, { secret: this.o.secret, role: "node", name: this.o.name, maxFrame: this.o.maxFrame, ca: this.o.ca });
  }

  /** Our `join` on a link we dialled; the member list it answers. */
  private async introduce(link: Link, url: string): Promise<MemberAddress[]> {
    const { mode, threshold } = this.balance;
    link.send({ t: "join", name: this.o.name, url: this.o.url(), forwarding: this.o.forwarding, balance: mode, threshold });
    const reply = await link.next(["members", "refused"]);
    if (reply.t === "refused") throw new MigrantError(`cannot join the cluster through ${url}: ${reply.reason}`);
    this.o.pidsUpTo(reply.counter);
    return reply.list;
  }

  /** Takes an authenticated node link into the membership and routes its messages. */
  adopt(link: MessageLink, url: string): void {
    this.membership.add(link.peer, url, link);
    this.adopted.add(link);
    link.on("message", (m: Message) => {
      if (m.t !== "heartbeat") this.membership.seen(link.peer, link); // a heartbeat says more: heard()
      this.router.route("node", link, m);
    });
    link.on("close", (_code: number, reason: string) => {
      this.adopted.delete(link);
      for (const f of this.goneListeners) f(link.peer);
      if (!this.leaving && this.membership.members.get(link.peer)?.link === link) {
        this.membership.down(link.peer, "down", `link closed${reason ? `: ${reason}` : ""}`);
      }
    });
    link.send(this.heartbeat());
  }
}
