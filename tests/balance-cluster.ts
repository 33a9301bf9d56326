// The balancing tests' cluster: real nodes on 127.0.0.1 (a TalkingCluster,
// which starts them and follows guests' output across moves) started with the
// balancer's flags, and what the tests read of the balancer. Every balancer
// line a node prints ("* balancer: moving PID to NODE (REASON)", "... failed
// (ERROR); it stays here", "* balancer: PID arrives from NODE (REASON)") is
// parsed and kept with the moment the test read it: the residence check
// measures the time between a process's arrival on a node and its next move
// off it from these moments. A test may also act the instant a line is read
// (kill the destination of a move as soon as its source says it is moving).

import { join } from "node:path";
import { ROOT } from "../host/paths.js";
import type { NodeInfo, ProcInfo } from "../host/cluster/views.js";
import { EXAMPLE_GUESTS, guestImage, runToEnd, type Guest } from "./guests.js";
import { migrant, type Result, type RunningNode } from "./processes.js";
import { TalkingCluster, type Job } from "./talking-cluster.js";

/** The CPU-bound batch job (args: units, rounds per unit, seed); its output depends only on its args. */
export const JOB: Guest = { name: "job", file: join(ROOT, "assembly", "workloads", "job.ts"), args: [] };
/** A CPU-bound guest with as much memory as asked (args: MiB, rounds), dirtying it fast: a long pre-copy. */
export const BYTES = EXAMPLE_GUESTS.find((g) => g.name === "bytes")!;
/** Members of a ring passing a token to each other (args: index, size, rounds, print every): a chatty pair at size 2. */
export const RING = EXAMPLE_GUESTS.find((g) => g.name === "token-ring")!;

export const HEARTBEAT = ["--heartbeat", "200"];

/** What `migrant nodes --json` says of a node's balancer. */
export interface BalanceCounters {
  mode: string;
  moved: number;
  received: number;
  failed: number;
}
export type BalancedNode = NodeInfo & { balance: BalanceCounters };

export type BalanceKind = "moving" | "failed" | "arrives";

export interface BalanceEvent {
  /** performance.now() when the test read the line */
  at: number;
  /** the node that printed it */
  node: string;
  kind: BalanceKind;
  pid: string;
  /** the destination (moving, failed) or the source (arrives) */
  peer: string;
  /** the reason (moving, arrives) or the error (failed) */
  why: string;
  line: string;
}

const PATTERNS: Array<[BalanceKind, RegExp]> = [
  ["failed", /^\* balancer: moving (\S+) to (\S+) failed \((.*)\); it stays here$/],
  ["moving", /^\* balancer: moving (\S+) to (\S+) \((.*)\)$/],
  ["arrives", /^\* balancer: (\S+) arrives from (\S+) \((.*)\)$/],
];

/** A balancer line of a node's log, parsed (null: not one of the three). */
export function parseBalancerLine(line: string): Pick<BalanceEvent, "kind" | "pid" | "peer" | "why" | "line"> | null {
  for (const [kind, re] of PATTERNS) {
    const m = re.exec(line);
    if (m) return { kind, pid: m[1], peer: m[2], why: m[3], line };
  }
  return null;
}

/** A process's arrival on a node the balancer did not log (a migration by hand): `at` is when it began, before the arrival. */
export interface Arrival {
  pid: string;
  node: string;
  at: number;
}

/**
 * The balancer moves made sooner than `residenceMs` (less `slackMs`, for the
 * lines' way to the test) after the process arrived on the node that moved it:
 * by a balancer move (its "arrives" line) or one of `others`.
 */
export function residenceViolations(events: BalanceEvent[], residenceMs: number, others: Arrival[] = [], slackMs = 300): string[] {
  const arrivals: Arrival[] = [...events.filter((e) => e.kind === "arrives"), ...others];
  const found: string[] = [];
  for (const m of events.filter((e) => e.kind === "moving")) {
    const before = arrivals.filter((a) => a.pid === m.pid && a.node === m.node && a.at <= m.at);
    const last = before.sort((a, b) => b.at - a.at)[0];
    if (last && m.at - last.at < residenceMs - slackMs)
      found.push(`${m.pid} moved off ${m.node} ${Math.round(m.at - last.at)} ms after it arrived there (residence ${residenceMs} ms)`);
  }
  return found;
}

/** The lines of an unmoved run of `g ARGS`, here in this process (it must exit 0). */
export async function reference(g: Guest, args: string[]): Promise<string[]> {
  const run = await runToEnd(await guestImage(g), args);
  if (run.status.code !== 0) throw new Error(`reference run of ${g.name} ${args.join(" ")} ended with ${JSON.stringify(run.status)}`);
  return run.lines;
}

interface Hook {
  match: (e: BalanceEvent) => boolean;
  fire: (e: BalanceEvent) => void;
}

export class BalanceCluster {
  readonly events: BalanceEvent[] = [];
  /** every balancer line ("NODE +ms: line"), also those not parsed: for failure messages */
  private readonly lines: string[] = [];
  private readonly hooks = new Set<Hook>();
  /** when the test cluster was up (the log's times count from it) */
  readonly t0 = performance.now();

  private constructor(readonly c: TalkingCluster) {
    for (const n of c.nodes.values()) this.watch(n);
  }

  /** Starts nodes `names` (the first alone, the others joining it) with heartbeats of 200 ms and `args`; all see each other. */
  static async start(names: string[], args: string[]): Promise<BalanceCluster> {
    return new BalanceCluster(await TalkingCluster.start(names, [...HEARTBEAT, ...args]));
  }

  node(name: string): RunningNode {
    const n = this.c.nodes.get(name);
    if (!n) throw new Error(`no node ${name} in this test cluster`);
    return n;
  }

  /** The environment of a CLI call through node `via`. */
  env(via = this.first()): Record<string, string> {
    return { MIGRANT_NODE: this.node(via).url };
  }

  /** `migrant ARGS` through node `via` (the first alive node unless told). */
  cli(args: string[], via = this.first(), timeoutMs = 30_000): Promise<Result> {
    return migrant(args, this.env(via), timeoutMs);
  }

  /** `migrant ps --json` through `via`. */
  async ps(via = this.first()): Promise<ProcInfo[]> {
    return JSON.parse(await this.ok(["ps", "--json"], via));
  }

  /** `migrant nodes --json` through `via`. */
  async nodes(via = this.first()): Promise<BalancedNode[]> {
    return JSON.parse(await this.ok(["nodes", "--json"], via));
  }

  /** Node `name`'s own figures, asked of itself (fresh: not from a heartbeat). */
  async self(name: string): Promise<BalancedNode> {
    const me = (await this.nodes(name)).find((n) => n.name === name);
    if (!me) throw new Error(`node ${name} does not list itself`);
    return me;
  }

  /** Starts `g ARGS` on node `on`, following its output across moves (its end is awaited by the test, or never). */
  async run(g: Guest, args: string[], on: string): Promise<Job> {
    const job = await this.c.run(g, args, on);
    job.ended.catch(() => undefined); // a job still running when its nodes are stopped
    return job;
  }

  /**
   * The first balancer event matching `match` among those from index `from`
   * on, or when it comes (rejects after `ms` with the balancer's lines so far).
   * `now` runs the moment it is read, before anything else happens here.
   */
  when(match: (e: BalanceEvent) => boolean, ms: number, from = 0, now?: (e: BalanceEvent) => void): Promise<BalanceEvent> {
    const seen = this.events.slice(from).find(match);
    if (seen) {
      now?.(seen);
      return Promise.resolve(seen);
    }
    return new Promise((resolve, reject) => {
      const hook: Hook = {
        match,
        fire: (e) => {
          clearTimeout(timer);
          this.hooks.delete(hook);
          now?.(e);
          resolve(e);
        },
      };
      const timer = setTimeout(() => {
        this.hooks.delete(hook);
        reject(new Error(`no such balancer line within ${ms} ms; the balancer said:\n${this.log()}`));
      }, ms);
      this.hooks.add(hook);
    });
  }

  /** Every balancer line so far, with its node and when it was read. */
  log(): string {
    return this.lines.join("\n") || "(nothing)";
  }

  stop(): void {
    this.c.stop();
  }

  private first(): string {
    const alive = this.c.alive();
    if (!alive.length) throw new Error("every node of this test cluster has stopped");
    return alive[0].name;
  }

  private async ok(args: string[], via: string): Promise<string> {
    const r = await this.cli(args, via);
    if (r.code !== 0) throw new Error(`migrant ${args.join(" ")} through ${via} failed (${r.code}): ${r.stderr}`);
    return r.stdout;
  }

  /** Reads node `n`'s stdout beside the test harness's reader: each balancer line with the moment it came. */
  private watch(n: RunningNode): void {
    let partial = "";
    n.child.stdout!.on("data", (d: Buffer) => {
      const at = performance.now();
      const parts = (partial + d.toString()).split("\n");
      partial = parts.pop()!;
      for (const line of parts) {
        if (!line.startsWith("* balancer")) continue;
        this.lines.push(`${n.name} +${Math.round(at - this.t0)} ms: ${line}`);
        const parsed = parseBalancerLine(line);
        if (!parsed) continue;
        const e: BalanceEvent = { at, node: n.name, ...parsed };
        this.events.push(e);
        for (const h of [...this.hooks]) if (h.match(e)) h.fire(e);
      }
    });
  }
}
