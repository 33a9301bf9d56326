// The client commands: run on a node, ps, nodes, attach, kill. Each talks to
// the node given by --node (or MIGRANT_NODE); `--on NAME`, attach and kill
// then talk directly to the node concerned, found through the cluster view.

import { basename } from "node:path";
import { ClusterClient, type Exit, type WatchEnd } from "../cluster/client.js";
import type { MigrationOptions, MigrationStats, Progress } from "../migration/options.js";
import type { NodeInfo, ProcInfo } from "../cluster/views.js";
import { MigrantError } from "../errors.js";
import { formatSize } from "../build/size.js";
import type { BuildOptions } from "../build/options.js";
import { loadImage, stdio, type Console } from "./local.js";
import { table } from "./table.js";

export interface Remote {
  node: string;
  secret: Buffer;
}

async function open(r: Remote): Promise<ClusterClient> {
  return ClusterClient.open(r.node, r.secret);
}

/** The up node with the fewest running processes (then the least memory in use), not among `except`. */
function leastLoaded(nodes: NodeInfo[], except: Set<string>): NodeInfo {
  const up = nodes.filter((n) => n.state === "up" && !except.has(n.name));
  if (!up.length) throw new MigrantError("no node of the cluster is up to take it");
  return up.sort((a, b) => a.load - b.load || a.memory - b.memory || a.name.localeCompare(b.name))[0];
}

async function nodeNamed(c: ClusterClient, name: string): Promise<NodeInfo> {
  const nodes = await c.nodes();
  const n = nodes.find((x) => x.name === name);
  if (!n) throw new MigrantError(`no node named ${name} in the cluster (nodes: ${nodes.map((x) => x.name).join(", ")})`);
  if (n.state !== "up") throw new MigrantError(`node ${name} is ${n.state}${n.reason ? ` (${n.reason})` : ""}`);
  return n;
}

/** A client connected to the node that runs `pid`. */
async function openAt(r: Remote, pid: string): Promise<{ client: ClusterClient; proc: ProcInfo }> {
  let entry = await open(r);
  try {
    let proc = (await entry.ps()).find((p) => p.pid === pid);
    const origin = pid.slice(0, pid.lastIndexOf("."));
    if (!proc && origin && origin !== entry.node) {
      // The entry node learns of other nodes' processes from heartbeats; a
      // process started a moment ago is known for sure by the node that
      // named it (it runs it, or knows where it went).
      const n = (await entry.nodes()).find((x) => x.name === origin && x.state === "up");
      if (n) {
        entry.close();
        entry = await ClusterClient.open(n.url, r.secret);
        proc = (await entry.ps()).find((p) => p.pid === pid);
      }
    }
    if (!proc) throw new MigrantError(`no process ${pid} in the cluster (see \`migrant ps\`)`);
    if (proc.state === "lost") throw new MigrantError(`process ${pid} was lost with node ${proc.node}`);
    if (proc.node === entry.node) return { client: entry, proc };
    const n = await nodeNamed(entry, proc.node);
    entry.close();
    return { client: await ClusterClient.open(n.url, r.secret), proc };
  } catch (e) {
    entry.close();
    throw e;
  }
}

function report(pid: string, e: Exit, io: Console): number {
  if (e.error) io.note(`process ${pid} ended: ${e.error}`);
  return e.code;
}

export async function runRemote(
  program: string,
  args: string[],
  o: Remote & { on?: string; detach: boolean; build: BuildOptions },
  io: Console = stdio,
): Promise<number> {
  const image = await loadImage(program, o.build, io);
  let client = await open(o);
  try {
    if (o.on === "auto") {
      // non-preemptive migration: place the new process on the least-loaded node before it starts
      const n = leastLoaded(await client.nodes(), new Set());
      io.note(`placing it on node ${n.name} (least loaded: ${n.load} running)`);
      if (n.name !== client.node) {
        client.close();
        client = await ClusterClient.open(n.url, o.secret);
      }
    } else if (o.on && o.on !== client.node) {
      const n = await nodeNamed(client, o.on);
      client.close();
      client = await ClusterClient.open(n.url, o.secret);
    }
    const name = basename(program).replace(/\.ts$/, ".wasm");
    if (o.detach) {
      const pid = await client.run(image.bytes, name, args, null);
      io.out(pid);
      return 0;
    }
    let done!: (e: WatchEnd) => void;
    const first = new Promise<WatchEnd>((r) => (done = r));
    const pid = await client.run(image.bytes, name, args, { onOutput: io.out, onEnd: done });
    const onSigint = () => {
      io.note(`detached from ${pid}, which keeps running (migrant attach ${pid})`);
      process.exit(130);
    };
    process.once("SIGINT", onSigint);
    const e = await follow(pid, o, client, first, io);
    process.off("SIGINT", onSigint);
    return report(pid, e, io);
  } finally {
    client.close();
  }
}

/**
 * Follows a process's output to its exit, across migrations: when the node it
 * ran on says it moved, attach on the new node from the next line not yet seen
 * (nodes number output lines and replay the recent ones), so that no line is
 * lost or repeated. Closes whichever client it ends with.
 */
async function follow(pid: string, r: Remote, client: ClusterClient, end: Promise<WatchEnd>, io: Console): Promise<Exit> {
  try {
    let e = await end;
    for (let hops = 0; hops < 10_000; hops++) {
      if ("exit" in e) return e.exit;
      const from = client.seqOf(pid);
      const movedTo = e.moved.url;
      client.close();
      for (let tries = 0; ; tries++) {
        try {
          // where it said it went; if not there (it moved on, or ps is a heartbeat behind), look it up anew
          client = tries === 0 ? await ClusterClient.open(movedTo, r.secret) : (await openAt(r, pid)).client;
          e = await client.attach(pid, from, io.out);
          break;
        } catch (err) {
          client.close();
          if (tries >= 50) throw err;
          await new Promise((res) => setTimeout(res, 100));
        }
      }
    }
    throw new MigrantError(`process ${pid} keeps moving; stopped following it`);
  } finally {
    client.close();
  }
}

export async function attach(pid: string, r: Remote, io: Console = stdio): Promise<number> {
  const { client } = await openAt(r, pid);
  try {
    return report(pid, await follow(pid, r, client, client.attach(pid, 1, io.out), io), io);
  } finally {
    client.close();
  }
}

/**
 * Runs `op` against the node that runs `pid`. The cluster view can be a
 * heartbeat behind a migration; if that node says the process is not there,
 * look again (a bounded number of times).
 */
async function onProcessNode<T>(r: Remote, pid: string, op: (c: ClusterClient, p: ProcInfo) => Promise<T>): Promise<T> {
  for (let tries = 0; ; tries++) {
    const { client, proc } = await openAt(r, pid);
    try {
      return await op(client, proc);
    } catch (e) {
      if (tries >= 30 || !/^no process .* on node /.test((e as Error).message)) throw e;
    } finally {
      client.close();
    }
    await new Promise((res) => setTimeout(res, 100));
  }
}

export async function kill(pid: string, r: Remote, io: Console = stdio): Promise<number> {
  return onProcessNode(r, pid, async (client, proc) => {
    if (proc.state !== "running") throw new MigrantError(`process ${pid} is not running (${proc.state})`);
    await client.kill(pid);
    io.note(`killed ${pid} on ${proc.node}`);
    return 0;
  });
}

export interface MigrateFlags {
  to: string;
  options: Partial<MigrationOptions>;
  json: boolean;
}

/** `migrant migrate`: moves a process, showing progress, then its statistics. */
export async function migrate(pid: string, r: Remote, f: MigrateFlags, io: Console = stdio): Promise<number> {
  const tty = process.stderr.isTTY && !f.json;
  return onProcessNode(r, pid, async (client, proc) => {
    const onSigint = () => {
      io.note("cancelling the migration ...");
      void client.cancelMigration(pid).catch(() => undefined);
    };
    process.on("SIGINT", onSigint);
    try {
      const stats = (await client.migrate(pid, f.to, f.options, (p) => {
        if (!tty) return;
        const g = p as Progress;
        process.stderr.write(
          `\r\x1b[K${g.phase}: ${Math.max(0, g.pagesLeft)} pages left, ${formatSize(g.bytesSent)} sent, ${g.mbps.toFixed(0)} MB/s`,
        );
      })) as MigrationStats;
      if (tty) process.stderr.write("\r\x1b[K");
      if (f.json) io.out(JSON.stringify(stats));
      else io.out(describeMigration(stats, proc.node));
      return stats.result === "completed" ? 0 : 1;
    } finally {
      process.off("SIGINT", onSigint);
    }
  });
}

/**
 * `migrant drain NAME`: moves every process off a node, each to the least-loaded
 * other node, so that the node can be stopped without losing anything.
 */
export async function drain(
  name: string,
  r: Remote,
  f: { strategy: MigrationOptions["strategy"]; json: boolean },
  io: Console = stdio,
): Promise<number> {
  const c = await open(r);
  let nodesNow: NodeInfo[];
  let procs: ProcInfo[];
  try {
    nodesNow = await c.nodes();
    procs = (await c.ps()).filter((p) => p.node === name && p.state === "running");
  } finally {
    c.close();
  }
  if (!nodesNow.find((n) => n.name === name)) throw new MigrantError(`no node named ${name} in the cluster`);
  const results: MigrationStats[] = [];
  let failed = 0;
  for (const p of procs) {
    const to = leastLoaded(nodesNow, new Set([name]));
    const out: string[] = [];
    await migrate(p.pid, r, { to: to.name, json: true, options: { strategy: f.strategy } }, { out: (l) => out.push(l), note: io.note });
    const stats = JSON.parse(out[0]) as MigrationStats;
    results.push(stats);
    if (stats.result === "completed") to.load++;
    else failed++;
    if (!f.json)
      io.note(
        `${p.pid} -> ${to.name}: ${stats.result}${stats.error ? ` (${stats.error})` : ""}, downtime ${stats.downtimeMs.toFixed(2)} ms`,
      );
  }
  if (f.json) io.out(JSON.stringify(results));
  else
    io.note(procs.length ? `drained ${name}: ${procs.length - failed} of ${procs.length} processes moved` : `node ${name} runs no process`);
  return failed ? 1 : 0;
}

export async function cancelMigration(pid: string, r: Remote, io: Console = stdio): Promise<number> {
  return onProcessNode(r, pid, async (client) => {
    await client.cancelMigration(pid);
    io.note(`asked to cancel the migration of ${pid}`);
    return 0;
  });
}

function describeMigration(s: MigrationStats, from: string): string {
  const ms = (n: number) => `${n.toFixed(2)} ms`;
  const rows: Array<[string, string]> = [
    ["process", `${s.pid}: ${from} -> ${s.to}`],
    ["result", s.result + (s.error ? `: ${s.error}` : "")],
    ["strategy", s.strategy],
    ["total time", ms(s.totalMs)],
    ["setup", ms(s.setupMs)],
    ["downtime", ms(s.downtimeMs)],
    ["rounds", `${s.rounds}${s.pagesPerRound.length ? ` (pages per round: ${s.pagesPerRound.join(", ")})` : ""}`],
    ["pages sent", String(s.pagesSent)],
    ["zero pages skipped", String(s.zeroPagesSkipped)],
    ["bytes sent", formatSize(s.bytesSent)],
    ["bandwidth", `${s.mbps.toFixed(1)} MB/s`],
    ["dirty rate", `${s.dirtyRate} pages/s`],
    ["post-copy faults", `${s.faults}${s.faults ? ` (latency p50 ${s.faultP50Us} us, p99 ${s.faultP99Us} us)` : ""}`],
  ];
  return rows.map(([k, v]) => `${k.padEnd(20)} ${v}`).join("\n");
}

const ago = (ms: number) => (ms < 1000 ? `${ms} ms` : ms < 120_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 60_000)} min`);

export async function ps(r: Remote, json: boolean, io: Console = stdio): Promise<number> {
  const c = await open(r);
  try {
    const list = (await c.ps()).sort((a, b) => a.pid.localeCompare(b.pid, undefined, { numeric: true }));
    if (json) {
      io.out(JSON.stringify(list));
      return 0;
    }
    const state = (p: ProcInfo) => (p.state === "exited" || p.state === "trapped" ? `${p.state} (${p.code})` : p.state);
    io.out(
      table(
        ["PID", "NODE", "STATE", "MEMORY", "UPTIME", "MIGRATIONS", "COMMAND"],
        list.map((p) => [p.pid, p.node, state(p), formatSize(p.memory), ago(p.uptimeMs), p.migrations, [p.module, ...p.args].join(" ")]),
      ),
    );
    return 0;
  } finally {
    c.close();
  }
}

export async function nodes(r: Remote, json: boolean, io: Console = stdio): Promise<number> {
  const c = await open(r);
  try {
    const list = (await c.nodes()).sort((a, b) => a.name.localeCompare(b.name));
    if (json) {
      io.out(JSON.stringify(list));
      return 0;
    }
    io.out(
      table(
        ["NAME", "ADDRESS", "STATE", "LOAD", "PROCESSES", "MEMORY", "LAST HEARD"],
        list.map((n) => [
          n.name,
          n.url,
          n.state + (n.reason ? ` (${n.reason})` : ""),
          n.load,
          n.procs,
          formatSize(n.memory),
          n.silentMs ? `${ago(n.silentMs)} ago` : "now",
        ]),
      ),
    );
    return 0;
  } finally {
    c.close();
  }
}
