// The client commands: run on a node, ps, nodes, attach, kill. Each talks to
// the node given by --node (or MIGRANT_NODE); `--on NAME`, attach and kill
// then talk directly to the node concerned, found through the cluster view.

import { basename } from "node:path";
import { ClusterClient, type Exit } from "../cluster/client.js";
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

async function nodeNamed(c: ClusterClient, name: string): Promise<NodeInfo> {
  const nodes = await c.nodes();
  const n = nodes.find((x) => x.name === name);
  if (!n) throw new MigrantError(`no node named ${name} in the cluster (nodes: ${nodes.map((x) => x.name).join(", ")})`);
  if (n.state !== "up") throw new MigrantError(`node ${name} is ${n.state}${n.reason ? ` (${n.reason})` : ""}`);
  return n;
}

/** A client connected to the node that runs `pid`. */
async function openAt(r: Remote, pid: string): Promise<{ client: ClusterClient; proc: ProcInfo }> {
  const entry = await open(r);
  try {
    const proc = (await entry.ps()).find((p) => p.pid === pid);
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
    if (o.on && o.on !== client.node) {
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
    let done!: (e: Exit) => void;
    const exited = new Promise<Exit>((r) => (done = r));
    const pid = await client.run(image.bytes, name, args, { onOutput: io.out, onExit: done });
    const onSigint = () => {
      io.note(`detached from ${pid}, which keeps running on ${client.node} (migrant attach ${pid})`);
      client.close();
      process.exit(130);
    };
    process.once("SIGINT", onSigint);
    const e = await exited;
    process.off("SIGINT", onSigint);
    return report(pid, e, io);
  } finally {
    client.close();
  }
}

export async function attach(pid: string, r: Remote, io: Console = stdio): Promise<number> {
  const { client } = await openAt(r, pid);
  try {
    return report(pid, await client.attach(pid, io.out), io);
  } finally {
    client.close();
  }
}

export async function kill(pid: string, r: Remote, io: Console = stdio): Promise<number> {
  const { client, proc } = await openAt(r, pid);
  try {
    if (proc.state !== "running") throw new MigrantError(`process ${pid} is not running (${proc.state})`);
    await client.kill(pid);
    io.note(`killed ${pid} on ${proc.node}`);
    return 0;
  } finally {
    client.close();
  }
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
        list.map((n) => [n.name, n.url, n.state + (n.reason ? ` (${n.reason})` : ""), n.load, n.procs, formatSize(n.memory), n.silentMs ? `${ago(n.silentMs)} ago` : "now"]),
      ),
    );
    return 0;
  } finally {
    c.close();
  }
}
