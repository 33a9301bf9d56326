// What `ps` and `nodes` show, as they travel in heartbeats and replies.

export type ProcState = "running" | "exited" | "trapped" | "killed" | "lost";

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

export type NodeState = "up" | "down" | "left";

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
