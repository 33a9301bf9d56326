// What `ps` and `nodes` show, as they travel in heartbeats and replies: the
// types, and the shapes (net/shape.ts) a received copy is checked against.
// Each shape is typed by its interface, so the two cannot drift apart.

import { amount, array, count, nullable, number, object, oneOf, string, type Shape } from "../net/shape.js";

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
  /** guest memory in use, bytes */
  memory: number;
  /** the node's limit on guests' maximum memory, bytes */
  maxMemory: number;
  /** milliseconds since it was last heard from (0 for the node answering) */
  silentMs: number;
  reason: string | null;
}

/** A node's heartbeat: its own view of itself. */
export interface HeartbeatState {
  url: string;
  memory: number;
  maxMemory: number;
  procs: ProcInfo[];
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
});

export const NODE_INFO: Shape<NodeInfo> = object({
  name: string,
  url: string,
  state: oneOf(NODE_STATES),
  load: count,
  procs: count,
  memory: amount,
  maxMemory: amount,
  silentMs: amount,
  reason: nullable(string),
});

export const HEARTBEAT_STATE: Shape<HeartbeatState> = object({ url: string, memory: amount, maxMemory: amount, procs: array(PROC_INFO) });

export const MEMBER_ADDRESS: Shape<MemberAddress> = object({ name: string, url: string });
