// Every message of the protocol, with its fields in wire order (fields.ts
// says what each kind is; protocol.ts lays them out). The position of a
// message in this table is its type byte: append new messages at the end, and
// bump PROTOCOL_VERSION (protocol.ts) when a message's fields change.
//
// docs/DESIGN.md has the same table with who sends each message and when, and
// every migration strategy as a sequence of them.

import { bytes, f64, i32, json, str, u32, type FieldType } from "./fields.js";
import { array, oneOf, string } from "./shape.js";
import { ERROR_CODES } from "../errors.js";
import { HEARTBEAT_STATE, MEMBER_ADDRESS, NODE_INFO, PROC_INFO } from "../cluster/views.js";
import { PLANNED_MOVE } from "../policy/plan.js";
import { MIGRATION_REQUEST, MIGRATION_STATS, PROGRESS } from "../migration/options.js";
import { FAULT_REPORT, HANDOVER_STATE, PROCESS_DESCRIPTION } from "../migration/payloads.js";
import { CLAIM_ANSWERS, LOCATIONS, MAIL_OUTCOMES } from "../cluster/messaging/outcomes.js";

export const MESSAGES = {
  // ---- the handshake, on every link (auth.ts) ----
  /** accepting node -> dialler, first frame: who I am, prove you know the secret */
  challenge: { node: str, nonce: bytes },
  /** dialler -> accepting node: role ("node" or "client"), name, proof, and a nonce for the node's own proof */
  auth: { role: str, name: str, proof: bytes, nonce: bytes },
  /** accepting node -> dialler: accepted, and the node's proof */
  welcome: { node: str, proof: bytes },
  /** accepting node -> dialler: refused (wrong secret; or a join refused), then the link closes */
  refused: { reason: str },

  // ---- membership, node <-> node (cluster/peers.ts) ----
  /**
   * newcomer -> a member: let me in, I listen at url, I forward messages by this mode, and I balance by this
   * mode and threshold (all three must be the cluster's)
   */
  join: { name: str, url: str, forwarding: str, balance: str, threshold: f64 },
  /**
   * member -> newcomer: every up member (the newcomer dials each), and the highest pid counter of the
   * newcomer's name the member knows of (a restarted node never hands out a pid again)
   */
  members: { list: json(array(MEMBER_ADDRESS)), counter: u32 },
  /** every node -> every member, each --heartbeat ms: its load and its processes */
  heartbeat: { name: str, state: json(HEARTBEAT_STATE) },
  /** a stopping node -> every member: I am leaving (they mark it left, not down) */
  bye: { reason: str },

  // ---- client requests (client -> node) and their answers ----
  /** start a module (sent first by its SHA-256 only); detach: 1 = do not stream its output */
  run: { req: u32, hash: str, module: str, args: json(array(string)), detach: u32 },
  /** node -> client or source node: I lack the module with this hash, send it */
  needModule: { req: u32, hash: str },
  /** the module's bytes, answering needModule (on a node link, req is the migration id) */
  module: { req: u32, hash: str, bytes: bytes },
  /** node -> client: run started this pid; or attach, kill, migrateCancel accepted */
  started: { req: u32, pid: str },
  /** node -> watching client: output line number seq of pid (numbered from 1, across migrations) */
  output: { pid: str, seq: u32, line: str },
  /** node -> watching client: pid ended (error: "" when it exited normally) */
  exited: { pid: str, code: i32, error: str },
  /** follow pid's output from line `from` (the node replays what it still has) */
  attach: { req: u32, pid: str, from: u32 },
  kill: { req: u32, pid: str },
  psRequest: { req: u32 },
  /** every process of the cluster, each once */
  ps: { req: u32, list: json(array(PROC_INFO)) },
  nodesRequest: { req: u32 },
  nodes: { req: u32, list: json(array(NODE_INFO)) },
  /** node -> client: request req refused; code is for programs, message for people */
  error: { req: u32, code: json(oneOf(ERROR_CODES)), message: str },
  /** client -> the node pid runs on: move it to node `to` */
  migrate: { req: u32, pid: str, to: str, options: json(MIGRATION_REQUEST) },
  migrateCancel: { req: u32, pid: str },
  /** source node -> client, at most every 100 ms while it migrates */
  migProgress: { req: u32, progress: json(PROGRESS) },
  /** source node -> client: the migration ended (completed, failed or cancelled) */
  migResult: { req: u32, stats: json(MIGRATION_STATS) },
  /** old node -> watching clients of a process that has moved: follow it there */
  moved: { pid: str, node: str, url: str },

  // ---- live migration, source node <-> destination node (migration/) ----
  /** source -> destination: take pid (module by hash; the destination may answer needModule) */
  migBegin: { mid: u32, pid: str, module: str, hash: str, info: json(PROCESS_DESCRIPTION) },
  /** destination -> source: accepted, and its worker is warm */
  migAccept: { mid: u32 },
  /** destination -> source: refused, or failed before the handover (the process stays on the source) */
  migRefuse: { mid: u32, reason: str },
  /** source -> destination: pages (u32 indices; data empty = zero pages), CRC-32 over both; enc 1: data packed (--compress) */
  migPages: { mid: u32, indices: bytes, data: bytes, crc: u32, enc: u32 },
  /**
   * source -> destination, the source frozen: the execution state, the used Asyncify buffer, the
   * memory size, and the pages not sent yet (a list, plus every page of [absentFrom, absentTo))
   */
  migHandover: {
    mid: u32,
    state: json(HANDOVER_STATE),
    asyncify: bytes,
    memoryPages: u32,
    absent: bytes,
    absentFrom: u32,
    absentTo: u32,
  },
  /** destination -> source: the process runs here since `at` (epoch ms) */
  migResumed: { mid: u32, at: f64 },
  /** destination -> source, post-copy: the guest waits for this page */
  migFault: { mid: u32, page: u32 },
  /** destination -> source, post-copy: every page is here; the fault figures */
  migDone: { mid: u32, stats: json(FAULT_REPORT) },
  /** source -> destination: give up (before the handover) */
  migAbort: { mid: u32, reason: str },
  /** source -> destination, after a pre-copy round: answer once everything sent so far is installed */
  migSync: { mid: u32 },
  migSynced: { mid: u32 },

  // ---- the cluster-wide process list, node <-> node (cluster/cluster-view.ts) ----
  /** ps entry node -> every member: your processes, now */
  procsQuery: { qid: u32 },
  procsReply: { qid: u32, list: json(array(PROC_INFO)) },

  // ---- messages between processes, node <-> node (cluster/messaging/, cluster/forwarding/) ----
  /**
   * a message from process `from` (sender id src, its send number n) to process `to`, on its way;
   * replyTo is the sender's node, which numbers its attempts (id); path: the nodes it has passed through
   */
  mail: { id: u32, from: str, src: str, n: u32, to: str, replyTo: str, hops: u32, path: json(array(string)), data: bytes },
  /**
   * the outcome of attempt id (of message n of sender src to `to`), to the sender's node; `at`: the node
   * that answered (for "stuck": the node it cannot reach)
   */
  mailAck: { id: u32, src: str, n: u32, to: str, outcome: json(oneOf(MAIL_OUTCOMES)), at: str, hops: u32 },
  /** a mailbox that was full has room again: resend what waits for it */
  mailRoom: { pid: str },
  /** where is pid? (resend, and update's fallback) answered by every member */
  locate: { qid: u32, pid: str },
  located: { qid: u32, pid: str, where: json(oneOf(LOCATIONS)) },
  /**
   * pid is at `node` now ("" = it ended), having moved `epoch` times (an older update is ignored);
   * ack 1: answer with locAck (update's link holders)
   */
  locUpdate: { id: u32, pid: str, node: str, epoch: u32, ack: u32 },
  locAck: { id: u32 },
  /** may process pid take this cluster-wide name? answered by every member */
  nameClaim: { qid: u32, name: str, pid: str },
  nameAnswer: { qid: u32, answer: json(oneOf(CLAIM_ANSWERS)) },
  /** the claim of name by pid is over (taken or given up): drop its reservation */
  nameRelease: { name: str, pid: str },
  /** which process has this name? ("" = none here) */
  nameQuery: { qid: u32, name: str },
  nameReply: { qid: u32, pid: str },

  // ---- a client's message to a process (migrant send) ----
  /** client -> any node: deliver data to the process pid or name `to` */
  sendRequest: { req: u32, to: str, data: bytes },
  /** node -> client: delivered to pid after hops extra node hops in ms */
  sendResult: { req: u32, pid: str, hops: u32, ms: f64 },

  // ---- the balancer, node <-> node (policy/); every one checked in policy/checks.ts ----
  /** an overloaded node -> a few members: how loaded are you? */
  balanceProbe: { qid: u32 },
  /** the answer: capacity, demand (with what it has reserved), busy 1 = a balancer move is in flight there */
  balanceLoad: { qid: u32, cpus: f64, demand: f64, busy: u32 },
  /** a node with room (its slot reserved) -> a few members: have you work for me? */
  balanceAsk: { qid: u32, cpus: f64, demand: f64 },
  /** the answer: pid "" = no; else that process is on its way to the asker, for this reason */
  balanceAnswer: { qid: u32, pid: str, reason: str },
  /** source -> destination, before a sender's or a pair's move: may pid (of this share) come, for this reason? */
  balanceOffer: { qid: u32, pid: str, share: f64, reason: str },
  /** the answer: ok 1 = come (the destination has reserved the room), else why not */
  balanceAccept: { qid: u32, ok: u32, why: str },
  /** source -> destination: the move of pid is over (result: completed, failed, cancelled); the reservation goes */
  balanceEnd: { pid: str, result: str },

  // ---- the balancer's dry-run (migrant balance --dry-run), client -> any node ----
  balanceRequest: { req: u32 },
  /** the moves a balancer would make now, from this node's view; why: when none, why not */
  balancePlan: { req: u32, mode: str, list: json(array(PLANNED_MOVE)), why: str },

  // ---- post-copy's push window (migration/source/postcopy.ts) ----
  /** destination -> source, post-copy: a page batch of `bytes` (its indices and data) is installed */
  migInstalled: { mid: u32, bytes: u32 },
};

type Table = typeof MESSAGES;
export type MessageType = keyof Table;
/** A message of one type: `t` and its fields, each of its decoded type. */
type Shape<T extends MessageType> = { t: T } & { [K in keyof Table[T]]: FieldType<Table[T][K]> };
export type Message = { [T in MessageType]: Shape<T> }[MessageType];
/** The messages of one type (or of any of several). */
export type MessageOf<T extends MessageType> = Extract<Message, { t: T }>;

export const MESSAGE_TYPES = Object.keys(MESSAGES) as MessageType[];
