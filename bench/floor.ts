// The floor of this machine, measured in the same run as the migrations so
// that their ratios mean something: the WebSocket round-trip time and
// throughput each way between two processes placed like the two nodes (on
// loopback, or in the --link namespaces), and memcpy bandwidth (the best a
// stop-and-copy could do without a network at all).

import { spawn } from "node:child_process";
import { join } from "node:path";
import { nodeCommand } from "../host/cluster/spawn.js";
import { ROOT } from "../host/paths.js";
import type { LinkFloor } from "./floor-probe.js";
import type { NetLink } from "./link.js";
import { median } from "./stats.js";
import { MiB } from "../host/text/size.js";

export interface Floor extends LinkFloor {
  memcpyMBps: number;
}

const PROBE = join(ROOT, "dist", "bench", "floor-probe.js");

/** One line from a child's stdout, or the reason it ended without one. */
function firstLine(cmd: [string, string[]]): { line: Promise<string>; kill: () => void } {
  const child = spawn(cmd[0], cmd[1], { stdio: ["ignore", "pipe", "pipe"] });
  let err = "";
  child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  const line = new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const i = out.indexOf("\n");
      if (i >= 0) resolve(out.slice(0, i));
    });
    child.once("exit", (code) => reject(new Error(`${cmd[1].join(" ")} exited (${code}): ${err.trim()}`)));
  });
  line.catch(() => undefined);
  return { line, kill: () => child.kill() };
}

/** ws between two processes where the nodes would be: RTT and MB/s each way over `mib` MiB. */
export async function measureLink(link: NetLink | null, mib: number): Promise<LinkFloor> {
  const server = firstLine(nodeCommand([PROBE, "serve", link?.a.host ?? "127.0.0.1"], link?.a.ns));
  try {
    const url = await server.line;
    const client = firstLine(nodeCommand([PROBE, "probe", url, String(mib)], link?.b.ns));
    return JSON.parse(await client.line) as LinkFloor;
  } finally {
    server.kill();
  }
}

/** Copying 64 MiB within this process (the median of 9 copies). */
export function measureMemcpy(): number {
  const size = 64 * MiB;
  const src = new Uint8Array(size).fill(3);
  const dst = new Uint8Array(size);
  const times: number[] = [];
  for (let i = 0; i < 9; i++) {
    const t = performance.now();
    dst.set(src);
    times.push(performance.now() - t);
  }
  return size / 1e6 / (median(times) / 1000);
}

export async function measureFloor(link: NetLink | null, mib: number): Promise<Floor> {
  return { ...(await measureLink(link, mib)), memcpyMBps: measureMemcpy() };
}
