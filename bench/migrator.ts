// Moves processes at random moments while they work: the messaging tests and
// the messaging benchmark use it to migrate the members of a token ring, or a
// producer and its consumer, while they talk. Each move takes a random one of
// the processes to a random other node, by the strategies in a shuffled cycle
// (a strategy whose move did not complete comes up again), with a random pause
// between moves; it stops when `until` settles or after `maxMoves`.

import { STRATEGIES, type MigrationStats, type Strategy } from "../host/migration/options.js";
import type { ProcInfo } from "../host/cluster/views.js";

export interface MigratorEnv {
  ps(): Promise<ProcInfo[]>;
  /** the nodes a process may move to now */
  nodes(): string[];
  /** a refusal comes back as a failed result, not an exception */
  migrate(pid: string, to: string, strategy: Strategy, from: string): Promise<MigrationStats>;
  /** a number in [0, 1) */
  random(): number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function migrateWhileRunning(
  env: MigratorEnv,
  pids: string[],
  until: Promise<unknown>,
  o: { maxMoves: number; pauseMs: number },
): Promise<MigrationStats[]> {
  let over = false;
  const stop = () => (over = true);
  void until.then(stop, stop);
  const results: MigrationStats[] = [];
  let cycle: Strategy[] = [];
  for (let i = 0; i < o.maxMoves && !over; i++) {
    if (!cycle.length) cycle = [...STRATEGIES].sort(() => env.random() - 0.5);
    const pid = pids[Math.floor(env.random() * pids.length)];
    const p = (await env.ps()).find((x) => x.pid === pid);
    if (!p || p.state !== "running") continue;
    const others = env.nodes().filter((n) => n !== p.node);
    const to = others[Math.floor(env.random() * others.length)];
    const strategy = cycle.pop()!;
    const r = await env.migrate(pid, to, strategy, p.node);
    results.push(r);
    if (r.result !== "completed") cycle.unshift(strategy); // it comes up again
    await sleep(env.random() * o.pauseMs);
  }
  return results;
}

/** How many moves of each strategy completed. */
export function completedByStrategy(results: MigrationStats[]): Record<Strategy, number> {
  const out = Object.fromEntries(STRATEGIES.map((s) => [s, 0])) as Record<Strategy, number>;
  for (const r of results) if (r.result === "completed") out[r.strategy]++;
  return out;
}
