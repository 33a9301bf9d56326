// The messaging benchmark: the four forwarding mechanisms side by side, each
// on a cluster of three real nodes of its own (A, B, C on loopback).
//
//   after a move   a consumer runs on A and a client sends to it through C
//                  (C's node delivers it, as it would for a process of its
//                  own). `samples` times: the consumer moves A <-> B
//                  (pre-copy), then one message goes at once ("after move",
//                  the sender's node still has the old route) and one more
//                  ("steady"). Latency is the sender's node's, from the start
//                  of the delivery to the receiver's node's answer; hops are
//                  the extra node hops of the copy that was taken.
//   control        the control messages of the mechanism (locates, location
//                  updates and their answers) summed over the nodes, per
//                  migration, over the ring run with migrations below.
//   ring           a token ring of 4 on the 3 nodes passes `ringMessages`
//                  messages, undisturbed, and again while its members are
//                  migrated at random moments by every strategy (messages/s,
//                  as the benchmark sees it: from starting member 0 to its
//                  end). After a warm-up, undisturbed and moving runs
//                  alternate, twice each; the medians are kept. The moves
//                  change where the members are: members that end up on one
//                  node pass the token without a network hop, which is faster,
//                  so the moving figure is not the cost of moving alone.
//
// Also kept: the downtime of the moves in "after a move" (update makes a
// move wait for its link holders' acknowledgements; the others do not).

import { join } from "node:path";
import { spawnNode, type SpawnedNode } from "../host/cluster/spawn.js";
import { Cluster } from "../host/client/cluster.js";
import { buildCached } from "../host/build/cache.js";
import { EXAMPLES } from "../host/paths.js";
import { FORWARDING_MODES, type ForwardingMode } from "../host/cluster/forwarding/forwarding.js";
import type { MailCounters } from "../host/cluster/views.js";
import { migrateWhileRunning } from "./migrator.js";
import type { MigrationStats, Strategy } from "../host/migration/options.js";
import { median, percentile } from "./stats.js";

export interface MessagingRow {
  mode: ForwardingMode;
  samples: number;
  afterMoveP50Ms: number;
  afterMoveP99Ms: number;
  /** mean extra node hops of a message sent right after a move */
  afterMoveHops: number;
  steadyP50Ms: number;
  steadyHops: number;
  /** downtime p50 of the moves (pre-copy, a few KiB): what the mechanism adds to a handover */
  moveDowntimeP50Ms: number;
  controlPerMigration: number;
  ringMessages: number;
  ringMsgsPerSec: number;
  ringMovingMsgsPerSec: number;
  ringMigrations: number;
}

export interface MessagingResult {
  rows: MessagingRow[];
}

export interface MessagingOptions {
  quick: boolean;
  log(s: string): void;
  modes?: readonly ForwardingMode[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** A move refused before it began (the process had just ended, say): a failed result. */
const refused = (e: Error) => ({ result: "failed", error: e.message }) as MigrationStats;
const text = (s: string) => new TextEncoder().encode(s);
/** Heartbeats often enough that the counters read through one node are fresh after a short pause. */
const HEARTBEAT_MS = 200;

interface Guests {
  ring: Uint8Array;
  stream: Uint8Array;
}

async function startNodes(mode: ForwardingMode): Promise<{ urls: Map<string, string>; children: SpawnedNode[] }> {
  const args = ["--forwarding", mode, "--heartbeat", String(HEARTBEAT_MS)];
  const urls = new Map<string, string>();
  const children: SpawnedNode[] = [];
  for (const name of ["A", "B", "C"]) {
    const n = spawnNode(name, [...args, ...(urls.size ? ["--join", urls.get("A")!] : [])], () => undefined);
    children.push(n);
    urls.set(name, await n.url);
  }
  await sleep(3 * HEARTBEAT_MS);
  return { urls, children };
}

/** The cluster's control messages and migrations so far (each node as it last said, C now). */
async function counters(c: Cluster): Promise<{ control: number; departures: number }> {
  await sleep(3 * HEARTBEAT_MS);
  const all = (await c.nodes()).map((n) => n.mail).filter((m): m is MailCounters => m !== null);
  return { control: all.reduce((a, m) => a + m.control, 0), departures: all.reduce((a, m) => a + m.departures, 0) };
}

async function afterMoves(at: (n: string) => Cluster, g: Guests, samples: number) {
  const a = at("A");
  const sink = await a.run({ bytes: g.stream, name: "stream.wasm" }, ["consume", "sink", String(2 * samples + 1)], { at: null });
  const c = at("C");
  let k = 1;
  await c.send(sink.pid, text(String(k))); // C learns a route (and is a link holder)
  const after: Array<{ ms: number; hops: number }> = [];
  const steady: Array<{ ms: number; hops: number }> = [];
  const downtimes: number[] = [];
  let where = "A";
  for (let i = 0; i < samples; i++) {
    const to = where === "A" ? "B" : "A";
    const s = await at(where).migrate(sink.pid, to, { strategy: "precopy" });
    if (s.result !== "completed") throw new Error(`move of the consumer ${where} -> ${to} ${s.result}: ${s.error}`);
    downtimes.push(s.downtimeMs);
    where = to;
    after.push(await c.send(sink.pid, text(String(++k))));
    steady.push(await c.send(sink.pid, text(String(++k))));
  }
  const mean = (xs: Array<{ hops: number }>) => xs.reduce((x, y) => x + y.hops, 0) / Math.max(1, xs.length);
  return {
    samples,
    afterMoveP50Ms: percentile(
      after.map((x) => x.ms),
      50,
    ),
    afterMoveP99Ms: percentile(
      after.map((x) => x.ms),
      99,
    ),
    afterMoveHops: mean(after),
    steadyP50Ms: percentile(
      steady.map((x) => x.ms),
      50,
    ),
    steadyHops: mean(steady),
    moveDowntimeP50Ms: percentile(downtimes, 50),
  };
}

/** One ring run: messages per second, and the moves made meanwhile (if `moving`). */
async function ring(at: (n: string) => Cluster, g: Guests, rounds: number, moving: boolean, urls: Map<string, string>) {
  const module = { bytes: g.ring, name: "token-ring.wasm" };
  const where = ["A", "B", "C", "A"];
  const pids: string[] = [];
  for (const i of [1, 2, 3]) pids[i] = (await at(where[i]).run(module, [String(i), "4", String(rounds), "0"], { at: null })).pid;
  const t0 = performance.now();
  const zero = await at(where[0]).run(module, ["0", "4", String(rounds), "0"], { at: null, onOutput: () => undefined });
  pids[0] = zero.pid;
  const ended = zero.ended!;
  let moves = 0;
  if (moving) {
    const entry = at("C");
    const env = {
      ps: () => entry.ps(),
      nodes: () => [...urls.keys()],
      migrate: (pid: string, to: string, strategy: Strategy) => entry.migrate(pid, to, { strategy }).catch(refused),
      random: Math.random,
    };
    const results = await migrateWhileRunning(env, pids, ended, { maxMoves: 10_000, pauseMs: 150 });
    moves = results.filter((r) => r.result === "completed").length;
  }
  const e = await ended;
  const secs = (performance.now() - t0) / 1000;
  if (e.code !== 0) throw new Error(`the token ring failed: ${e.error ?? `exit code ${e.code}`}`);
  return { msgsPerSec: (4 * rounds) / secs, moves };
}

async function measureMode(mode: ForwardingMode, g: Guests, o: MessagingOptions): Promise<MessagingRow> {
  const { urls, children } = await startNodes(mode);
  const at = (n: string) => new Cluster({ node: urls.get(n)!, secret: Buffer.alloc(0) });
  try {
    const latency = await afterMoves(at, g, o.quick ? 10 : 40);
    const rounds = o.quick ? 1000 : 2500;
    await ring(at, g, rounds / 4, false, urls); // warm-up: the nodes' code paths, not measured
    // undisturbed and moving interleaved, twice each: the medians
    const still: number[] = [];
    const moving: number[] = [];
    let moves = 0;
    let control = 0;
    for (let i = 0; i < 2; i++) {
      still.push((await ring(at, g, rounds, false, urls)).msgsPerSec);
      const before = await counters(at("C"));
      const m = await ring(at, g, rounds, true, urls);
      const after = await counters(at("C"));
      moving.push(m.msgsPerSec);
      moves += after.departures - before.departures;
      control += after.control - before.control;
    }
    const row: MessagingRow = {
      mode,
      ...latency,
      controlPerMigration: moves ? control / moves : 0,
      ringMessages: 4 * rounds,
      ringMsgsPerSec: median(still),
      ringMovingMsgsPerSec: median(moving),
      ringMigrations: moves,
    };
    o.log(
      `messaging ${mode}: after a move ${row.afterMoveP50Ms.toFixed(2)} ms p50 (${row.afterMoveHops.toFixed(2)} extra hops), ` +
        `steady ${row.steadyP50Ms.toFixed(2)} ms; ${row.controlPerMigration.toFixed(1)} control msgs/migration; ` +
        `ring ${row.ringMsgsPerSec.toFixed(0)} msg/s, ${row.ringMovingMsgsPerSec.toFixed(0)} msg/s with ${row.ringMigrations} migrations`,
    );
    return row;
  } finally {
    for (const n of children) n.child.kill("SIGINT");
    await sleep(300);
  }
}

export async function runMessaging(o: MessagingOptions): Promise<MessagingResult> {
  const g: Guests = {
    ring: await buildCached(join(EXAMPLES, "token-ring.ts"), {}, o.log),
    stream: await buildCached(join(EXAMPLES, "stream.ts"), {}, o.log),
  };
  const rows: MessagingRow[] = [];
  for (const mode of o.modes ?? FORWARDING_MODES) rows.push(await measureMode(mode, g, o));
  return { rows };
}
