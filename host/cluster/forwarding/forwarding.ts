// Forwarding: how a message finds a process that may have moved. The
// classic systems do it in four ways, and a cluster uses one of them
// (`migrant node --forwarding`, the same on every node: a node of another mode
// is refused at its join):
//
//   resend     a node that no longer runs the process returns the message as
//              not deliverable; the sender's node (which keeps a copy: the
//              send under way) locates the process and sends it again
//   origin     a pid names its origin node, which keeps the location of every
//              process created on it; messages go to the origin, which
//              forwards them
//   traversal  a node a process left keeps a forwarding link to where it went
//              (and holds what arrives during the handover); a message follows
//              the chain of links, and the chain is shortened once followed
//   update     when a process moves, every node that has sent to it (its link
//              holders) is told the new address and acknowledges before the
//              process resumes; a holder that does not answer within the
//              bound finds the process as in resend when it next sends
//
// Each is a class behind this one interface, used by the post office
// (messaging/post-office.ts: the receiving side), the deliveries (the sending
// side) and the migrations (left, beforeResume). Exactly once and in order is
// not theirs to keep: that is the mailbox's numbering and the hold during a
// handover (messaging/process-mail.ts, post-office.ts); a mechanism only
// decides where a message goes next, and a wrong guess costs a hop, a return
// or (a node down) a wait up to the delivery bound, never a copy or an order.

import type { Message } from "../../net/protocol.js";
import type { ProcInfo } from "../views.js";
import type { Router } from "../router.js";
import type { Locator } from "../messaging/locator.js";
import type { MailOutcome } from "../messaging/outcomes.js";

export const FORWARDING_MODES = ["resend", "origin", "traversal", "update"] as const;
export type ForwardingMode = (typeof FORWARDING_MODES)[number];

/**
 * How long after its start a node takes a pid it cannot place for one it has
 * not heard of yet (it answers "stuck": try again) rather than for none at all
 * ("unknown"): a restarted node hears every member's heartbeat as it joins.
 */
export const WARM_UP_MS = 3000;
export const warmingUp = (startedAt: number): boolean => performance.now() - startedAt < WARM_UP_MS;

/** What a node without the process does with a message for it: pass it on, or answer. */
export type NextStep = { forward: string } | { answer: MailOutcome };

/** What a mechanism may use of its node. */
export interface ForwardingEnv {
  self: string;
  router: Router;
  /** sends to an up member; false if it cannot be reached now */
  sendTo(node: string, m: Message): boolean;
  /** whether a member is up now */
  isUp(node: string): boolean;
  /** whether this node has ever had a member of that name */
  known(node: string): boolean;
  /** the member whose last heartbeat lists `pid` running, if one does (a hint: heartbeats are late) */
  reportedAt(pid: string): string | null;
  /** whether this node handed out `pid` (in this life or, as far as it has heard, an earlier one) */
  issued(pid: string): boolean;
  /** one more control message sent (the counter the benchmark compares) */
  control(): void;
  locator: Locator;
  /** update: how long a move waits for its link holders' acknowledgements */
  updateWaitMs: number;
  event(line: string): void;
}

export interface Forwarding {
  readonly mode: ForwardingMode;
  /** Where the sender's node sends a message for `pid` first. */
  target(pid: string): string;
  /** A message for `pid` reached this node, which does not run it. */
  notHere(pid: string): NextStep;
  /** The sender's node heard the message was delivered at `at`. */
  delivered(pid: string, at: string): void;
  /** The message was delivered here, to a process that has moved `epoch` times, after passing the nodes of `path` (traversal shortens the chain). */
  reached(pid: string, path: string[], epoch: number): void;
  /** Node `by` returned a message for `pid` ("moved"): the node to try next, or why it cannot go anywhere. */
  returned(pid: string, by: string): Promise<string | "ended" | "unknown" | "unreachable">;
  /**
   * The node chosen for a message for `pid` (first, or next after a return)
   * cannot be reached: the node to try instead, or why it cannot go anywhere
   * ("unreachable": try again later).
   */
  unreachable(pid: string, node: string): Promise<string | "ended" | "unknown" | "unreachable">;
  /** A process created here. */
  created(pid: string): void;
  /** The process is frozen to leave for `to`, its move number `epoch`: what must happen before it resumes there (update: tell `holders`). */
  beforeResume(pid: string, to: string, holders: string[], epoch: number): Promise<void>;
  /** The process has left this node for `to` (its new node runs it), its move number `epoch`. */
  left(pid: string, to: string, epoch: number): void;
  /** The process ended here, after `epoch` moves. */
  ended(pid: string, epoch: number): void;
  /** A message for `pid` went round more than MAX_HOPS nodes: what this node believes of it is wrong, forget it. */
  forget(pid: string): void;
  /** A member's heartbeat listed these processes (origin rebuilds its table from them after a restart). */
  heard(member: string, procs: ProcInfo[]): void;
}
