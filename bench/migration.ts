// Migration benchmark: two real nodes (child processes on 127.0.0.1), a guest
// that has touched 64 MiB (`bytes 64`, which keeps rewriting it: the hard case
// for pre-copy) migrated back and forth with each strategy, several times.
// Reports downtime p50/p99, total time, bytes sent, rounds, post-copy faults,
// and the stop-and-copy rate against the link's measured rate.

import { spawn, type ChildProcess } from "node:child_process";
import { spawnNode } from "../host/cluster/spawn.js";
import { join } from "node:path";
import { writeFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { buildCached } from "../host/build/cache.js";
import { ClusterClient } from "../host/cluster/client.js";
import { EXAMPLES, ROOT } from "../host/paths.js";
import { STRATEGIES, type MigrationStats } from "../host/migration/options.js";
import { percentile } from "./stats.js";


export interface MigrationRow {
  strategy: string;
  runs: number;
  downtimeP50Ms: number;
  downtimeP99Ms: number;
  totalP50Ms: number;
  mbSentP50: number;
  roundsP50: number;
  faultsP50: number;
  mbpsP50: number;
}

async function startNode(name: string, join?: string): Promise<{ child: ChildProcess; url: string }> {
  const n = spawnNode(name, join ? ["--join", join] : [], () => undefined);
  return { child: n.child, url: await n.url };
}

export async function measureMigration(reps: number, mib: number, log: (s: string) => void): Promise<MigrationRow[]> {
  const bytes = await buildCached(join(EXAMPLES, "bytes.ts"), {}, () => undefined);
  const a = await startNode("A");
  const b = await startNode("B", a.url);
  const nodes = [a.child, b.child];
  const secret = Buffer.alloc(0);
  try {
    await new Promise((r) => setTimeout(r, 800));
    const ca = await ClusterClient.open(a.url, secret);
    const pid = await ca.run(bytes, "bytes.wasm", [String(mib), "100000000"], null);
    ca.close();
    await new Promise((r) => setTimeout(r, 1500)); // it has touched all its memory
    const rows: MigrationRow[] = [];
    const where = { node: "A", url: a.url };
    for (const strategy of STRATEGIES) {
      const runs: MigrationStats[] = [];
      for (let i = 0; i < reps; i++) {
        const to = where.node === "A" ? { node: "B", url: b.url } : { node: "A", url: a.url };
        const c = await ClusterClient.open(where.url, secret);
        const s = (await c.migrate(pid, to.node, { strategy }, () => undefined)) as MigrationStats;
        c.close();
        if (s.result !== "completed") throw new Error(`${strategy} migration failed: ${s.error}`);
        runs.push(s);
        Object.assign(where, to);
        await new Promise((r) => setTimeout(r, 300));
      }
      const p50 = (f: (s: MigrationStats) => number) => percentile(runs.map(f), 50);
      const row: MigrationRow = {
        strategy,
        runs: runs.length,
        downtimeP50Ms: p50((s) => s.downtimeMs),
        downtimeP99Ms: percentile(runs.map((s) => s.downtimeMs), 99),
        totalP50Ms: p50((s) => s.totalMs),
        mbSentP50: p50((s) => s.bytesSent / 1e6),
        roundsP50: p50((s) => s.rounds),
        faultsP50: p50((s) => s.faults),
        mbpsP50: p50((s) => s.mbps),
      };
      rows.push(row);
      log(`migration: ${strategy} downtime p50 ${row.downtimeP50Ms.toFixed(2)} ms, total ${row.totalP50Ms.toFixed(0)} ms, ${row.mbSentP50.toFixed(1)} MB`);
    }
    return rows;
  } finally {
    for (const n of nodes) n.kill("SIGINT");
  }
}

/** The link's own rate: one 64 MiB transfer between two processes over ws on loopback (server -> client). */
export async function measureLinkRate(): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), "migrant-link-"));
  const script = join(dir, "sink.mjs");
  writeFileSync(
    script,
    `import WebSocket from ${JSON.stringify(join(ROOT, "node_modules", "ws", "index.js"))};
     const ws = new WebSocket(process.argv[2]); let n = 0;
     ws.on("message", (d) => { n += d.length; if (n >= 64 * 1024 * 1024) { ws.send("done"); } });`,
  );
  const { WebSocketServer } = await import("ws");
  const server = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  await new Promise((r) => server.once("listening", r));
  const port = (server.address() as { port: number }).port;
  const child = spawn(process.execPath, [script, `ws://127.0.0.1:${port}`], { stdio: "inherit" });
  const ws = await new Promise<import("ws").WebSocket>((r) => server.once("connection", r));
  const chunk = Buffer.alloc(1024 * 1024, 7);
  const t0 = performance.now();
  for (let i = 0; i < 64; i++) ws.send(chunk);
  await new Promise((r) => ws.once("message", r));
  const mbps = 64 * 1.048576 / ((performance.now() - t0) / 1000);
  child.kill();
  server.close();
  return mbps;
}
