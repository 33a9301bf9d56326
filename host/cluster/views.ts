// What `ps` and `nodes` show, as they travel in heartbeats and replies: the
// types, and the shapes (net/shape.ts) a received copy is checked against.
// Each shape is typed by its interface, so the two cannot drift apart.

import { amount, array, boolean, count, cpus, nullable, number, object, oneOf, optional, share, string, type Shape } from "../net/shape.js";
import { BALANCE_MODES, type BalanceMode } from "../policy/transfer.js";

export const PROC_STATES = ["running", "exited", "trapped", "killed", "lost"] as const;
export type ProcState = (typeof PROC_STATES)[number];

export interface ProcInfo {
  pid: string;
  node: string;
  module: string;
  args: string[];
  state: ProcState;
  code: number | null;
  error: string | null;
  /** current linear memory, bytes */
  memory: number;
  /** wall clock when it started (epoch ms; informational) */
  startedAt: number;
  /** how long it has run (or ran), measured on a monotonic clock by the node that runs it */
  uptimeMs: number;
  migrations: number;
  /** its cluster-wide name (register), if it has one */
  name: string | null;
  /** messages in its mailbox, not received yet */
  mailbox: number;
  /** share of a core it wants: the part of its time it does not wait (cluster/cpu-share.ts); 1 until measured */
  demand: number;
  /** share of a core it got (its demand less the time its node held it) */
  cpu: number;
}

/**
 * A node's message counters (since it started): what `migrant nodes` shows of
 * messages between processes, and what the benchmark compares the forwarding
 * mechanisms by.
 */
export interface MailCounters {
  /** sends of processes here (and of clients through here) that were delivered */
  sent: number;
  /** messages put into a mailbox of a process here */
  delivered: number;
  /** messages passed on towards a process that is not here */
  forwarded: number;
  /** messages answered as not deliverable here (resend, update) */
  returned: number;
  /** attempts made again: after a return, a time-out, a full mailbox, an unreachable node */
  resent: number;
  /** extra node hops of the messages delivered here, summed, and the most of one message */
  hops: number;
  maxHops: number;
  /** control messages of the forwarding mechanism sent by this node (locate, location updates and their answers) */
  control: number;
  /** processes that left this node by migration */
  departures: number;
  /** sends given up after the delivery bound (each logged with its pid) */
  undeliverable: number;
}

export const NODE_STATES = ["up", "down", "left"] as const;
export type NodeState = (typeof NODE_STATES)[number];

export interface NodeInfo {
  name: string;
  url: string;
  state: NodeState;
  /** running processes */
  load: number;
  procs: number;
  /** how many processes it runs at full speed (--cpus) */
  cpus: number;
  /** the sum of its running processes' CPU demands (an unmeasured one counts 1) */
  demand: number;
  /** guest memory in use, bytes */
  memory: number;
  /** the node's limit on guests' maximum memory, bytes */
  maxMemory: number;
  /** milliseconds since it was last heard from (0 for the node answering) */
  silentMs: number;
  /** the longest delay of its event loop over its last few heartbeats, ms (loop-delay.ts) */
  loopMs: number;
  reason: string | null;
  /** its message counters, as last heard (null: not heard yet) */
  mail: MailCounters | null;
  /** its balancer: the mode and its counters (policy/balancer.ts); absent: not heard yet */
  balance?: BalanceCounters;
}

/** What a node's balancer has done since the node started. */
export interface BalanceCounters {
  mode: BalanceMode;
  /** moves it started as the source */
  moved: number;
  /** processes the balancer brought here */
  received: number;
  /** moves (as the source) that failed: the process stayed */
  failed: number;
}

/** What a node's heartbeat says of its balancer: its counters, and what another node's dry-run needs. */
export interface BalanceState extends BalanceCounters {
  /** a balancer move is in flight here (as source or destination) */
  busy: boolean;
  /** the running processes here that the balancer may move now (past their residence, not migrating) */
  movable: string[];
  /** the busiest pairs of processes exchanging messages, as this node counts them (messages/s) */
  pairs: Array<{ a: string; b: string; rate: number }>;
}

/** A node's heartbeat: its own view of itself. */
export interface HeartbeatState {
  url: string;
  /** the longest delay of its event loop over its last few heartbeats, ms */
  loopMs: number;
  memory: number;
  maxMemory: number;
  cpus: number;
  demand: number;
  procs: ProcInfo[];
  mail: MailCounters;
  /** absent from a node that does not say (a test's fake) */
  balance?: BalanceState;
}

/** A member as the join answer lists it. */
export interface MemberAddress {
  name: string;
  url: string;
}

export const PROC_INFO: Shape<ProcInfo> = object({
  pid: string,
  node: string,
  module: string,
  args: array(string),
  state: oneOf(PROC_STATES),
  code: nullable(number({ int: true })),
  error: nullable(string),
  memory: amount,
  startedAt: number(),
  uptimeMs: amount,
  migrations: count,
  name: nullable(string),
  mailbox: count,
  demand: share,
  cpu: share,
});

export const MAIL_COUNTERS: Shape<MailCounters> = object({
  sent: count,
  delivered: count,
  forwarded: count,
  returned: count,
  resent: count,
  hops: count,
  maxHops: count,
  control: count,
  departures: count,
  undeliverable: count,
});

export const NO_MAIL_COUNTERS: MailCounters = {
  sent: 0,
  delivered: 0,
  forwarded: 0,
  returned: 0,
  resent: 0,
  hops: 0,
  maxHops: 0,
  control: 0,
  departures: 0,
  undeliverable: 0,
};

export const BALANCE_COUNTERS: Shape<BalanceCounters> = object({
  mode: oneOf(BALANCE_MODES),
  moved: count,
  received: count,
  failed: count,
});

export const BALANCE_STATE: Shape<BalanceState> = object({
  mode: oneOf(BALANCE_MODES),
  moved: count,
  received: count,
  failed: count,
  busy: boolean,
  movable: array(string),
  pairs: array(object({ a: string, b: string, rate: amount })),
});

export const NODE_INFO: Shape<NodeInfo> = object({
  name: string,
  url: string,
  state: oneOf(NODE_STATES),
  load: count,
  procs: count,
  cpus,
  demand: amount,
  memory: amount,
  maxMemory: amount,
  silentMs: amount,
  loopMs: amount,
  reason: nullable(string),
  mail: nullable(MAIL_COUNTERS),
  balance: optional(BALANCE_COUNTERS),
});

export const HEARTBEAT_STATE: Shape<HeartbeatState> = object({
  url: string,
  loopMs: amount,
  memory: amount,
  maxMemory: amount,
  cpus,
  demand: amount,
  procs: array(PROC_INFO),
  mail: MAIL_COUNTERS,
  balance: optional(BALANCE_STATE),
});

export const MEMBER_ADDRESS: Shape<MemberAddress> = object({ name: string, url: string });
