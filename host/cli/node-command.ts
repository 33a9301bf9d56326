// `migrant node`: runs a host node in the foreground of a terminal, printing
// each guest's output line prefixed with its pid and one line per event.
// Ctrl-C (or SIGTERM) stops it cleanly: it takes no new work, says which
// processes die with it, and tells the other nodes it is leaving.

import { ClusterNode } from "../cluster/node.js";
import { readSecret } from "../net/auth.js";
import { UsageError } from "../errors.js";
import { formatSize } from "../build/size.js";

export interface NodeFlags {
  name: string;
  host: string;
  port: number;
  join?: string;
  secretFile?: string;
  maxFrame: number;
  maxProcs: number;
  maxMemory: number;
  heartbeat: number;
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|::1)$/;

export async function runNode(f: NodeFlags): Promise<number> {
  if (!/^[A-Za-z0-9_-]{1,32}$/.test(f.name)) throw new UsageError(`--name "${f.name}": use 1-32 letters, digits, - or _`);
  const secret = readSecret(f.secretFile ?? process.env.MIGRANT_SECRET_FILE);
  if (secret.length === 0 && !LOOPBACK.test(f.host)) {
    throw new UsageError(`a node without --secret-file listens on loopback only; give --secret-file to listen on ${f.host}`);
  }
  const log = (line: string) => process.stdout.write(line + "\n");
  const node = new ClusterNode({
    name: f.name,
    host: f.host,
    port: f.port,
    join: f.join,
    secret,
    maxFrame: f.maxFrame,
    maxProcs: f.maxProcs,
    maxMemory: f.maxMemory,
    heartbeatMs: f.heartbeat,
    log,
  });
  await node.start();
  log(
    `* node ${f.name} listening on ${node.url}` +
      (secret.length ? " (cluster secret required)" : " (no --secret-file: loopback only, no secret asked)") +
      `; limits: ${f.maxProcs} processes, ${formatSize(f.maxMemory)} of guest memory, frames up to ${formatSize(f.maxFrame)}`,
  );
  return new Promise((resolve) => {
    let stopping = false;
    const stop = (why: string) => {
      if (stopping) process.exit(130);
      stopping = true;
      void node.stop(why).then(() => resolve(0));
    };
    process.on("SIGINT", () => stop("stopped by Ctrl-C"));
    process.on("SIGTERM", () => stop("stopped by SIGTERM"));
  });
}
