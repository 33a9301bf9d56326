// A cluster of real node processes on 127.0.0.1 for the messaging tests:
// guests started on it through the client library, their output followed
// across their moves (as `migrant run` follows it), and a migrator that moves
// them at random moments by every strategy while they talk.

import { Cluster, type Exit } from "../host/client/cluster.js";
import type { MigrationStats, Strategy } from "../host/migration/options.js";
import { migrateWhileRunning as migrate } from "../bench/migrator.js";
export { completedByStrategy } from "../bench/migrator.js";
import type { ProcInfo } from "../host/cluster/views.js";
import { guestBytes, type Guest } from "./guests.js";
import { LineLog, startNode, type RunningNode } from "./processes.js";
import { random } from "./seed.js";

export interface Job {
  pid: string;
  lines: string[];
  /** how it ended, wherever it ran by then */
  ended: Promise<Exit>;
  /** resolves with the first line matching `re` (rejects after `ms`) */
  line(re: RegExp, ms?: number): Promise<string>;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `p`, or a failure naming `what` after `ms` (a lost message would leave the guests waiting for ever). */
export function within<T>(p: Promise<T>, ms: number, what: () => string): Promise<T> {
  let timer: NodeJS.Timeout;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`not done within ${ms} ms: ${what()}`)), ms)));
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

export class TalkingCluster {
  readonly nodes = new Map<string, RunningNode>();
  readonly client: Cluster;

  private constructor(
    first: RunningNode,
    private readonly args: string[],
  ) {
    this.nodes.set(first.name, first);
    this.client = new Cluster({ node: first.url, secret: Buffer.alloc(0) });
  }

  /** Starts nodes `names` (the first alone, the others joining it), each with `args`, and waits until all see each other. */
  static async start(names: string[], args: string[] = []): Promise<TalkingCluster> {
    const c = new TalkingCluster(await startNode(names[0], args), args);
    for (const n of names.slice(1)) await c.add(n);
    return c;
  }

  /** Starts node `name` joining the cluster (again, after a restart) and waits until every node lists it up. */
  async add(name: string, args: string[] = this.args): Promise<RunningNode> {
    const via = [...this.nodes.values()].find((n) => n.name !== name && n.child.exitCode === null && n.child.signalCode === null)!;
    const n = await startNode(name, [...args, "--join", via.url]);
    this.nodes.set(name, n);
    await this.untilUp(name);
    return n;
  }

  /** Waits until every node lists `name` up (10 s at most). */
  async untilUp(name: string): Promise<void> {
    for (let i = 0; i < 100; i++) {
      const all = await Promise.all(this.alive().map((n) => this.via(n.name).nodes()));
      if (all.every((list) => list.find((x) => x.name === name)?.state === "up")) return;
      await sleep(100);
    }
    throw new Error(`node ${name} is not up everywhere after 10 s`);
  }

  alive(): RunningNode[] {
    return [...this.nodes.values()].filter((n) => n.child.exitCode === null && n.child.signalCode === null);
  }

  /** A client of the cluster through node `name`. */
  via(name: string): Cluster {
    return new Cluster({ node: this.nodes.get(name)!.url, secret: Buffer.alloc(0) });
  }

  /** Starts `guest ARGS` on node `on`, following its output. */
  async run(guest: Guest, args: string[], on: string, via = on): Promise<Job> {
    const c = this.via(via);
    const log = new LineLog(`${guest.name} on ${on}`);
    const started = await c.run({ bytes: await guestBytes(guest), name: `${guest.name}.wasm` }, args, {
      at: await c.node(on),
      onOutput: log.push,
    });
    return { pid: started.pid, lines: log.lines, ended: started.ended!, line: (re, ms = 20_000) => log.waitFor(re, ms) };
  }

  async ps(via?: string): Promise<ProcInfo[]> {
    return (via ? this.via(via) : this.alive().length ? this.via(this.alive()[0].name) : this.client).ps();
  }

  /** Migrates through the client library; a refusal (it ended, it is busy) comes back as a failed result. */
  async migrate(pid: string, to: string, strategy: Strategy, via?: string): Promise<MigrationStats> {
    try {
      return await (via ? this.via(via) : this.via(this.alive()[0].name)).migrate(pid, to, { strategy });
    } catch (e) {
      return { result: "failed", error: (e as Error).message } as MigrationStats;
    }
  }

  /** Kills every node (SIGCONT first, in case a test stopped one). */
  stop(): void {
    for (const n of this.nodes.values()) {
      n.child.kill("SIGCONT");
      n.child.kill("SIGKILL");
    }
  }
}

/** Moves `pids` at random moments by every strategy while `until` has not settled (bench/migrator.ts). */
export function migrateWhileRunning(
  c: TalkingCluster,
  pids: string[],
  until: Promise<unknown>,
  o: { maxMoves: number; pauseMs: number },
): Promise<MigrationStats[]> {
  const env = {
    ps: () => c.ps(),
    nodes: () => c.alive().map((n) => n.name),
    migrate: (pid: string, to: string, strategy: Strategy, from: string) => c.migrate(pid, to, strategy, from),
    random,
  };
  return migrate(env, pids, until, o);
}
