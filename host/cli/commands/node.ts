// `migrant node`: runs a host node in the foreground of a terminal, printing
// each guest's output line prefixed with its pid and one line per event.
// Ctrl-C (or SIGTERM) stops it cleanly: it takes no new work, says which
// processes die with it, and tells the other nodes it is leaving.

import type { Command } from "commander";
import { ClusterNode } from "../../cluster/node.js";
import { NODE_NAME } from "../../cluster/peers.js";
import { LOOPBACK, readSecret } from "../../net/auth.js";
import { DEFAULT_MAX_FRAME } from "../../net/link.js";
import { UsageError } from "../../errors.js";
import { formatSize, GiB } from "../../text/size.js";
import { lineWriter } from "../console.js";
import { CA_FLAG, count, positive, size } from "../flags.js";
import { availableParallelism } from "node:os";
import { DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_PENDING } from "../../net/admission.js";
import { readCa, readTlsIdentity } from "../../net/tls.js";
import { FORWARDING_MODES, type ForwardingMode } from "../../cluster/forwarding/forwarding.js";
import { DEFAULT_CAPACITY } from "../../messaging/process-mail.js";
import { InvalidArgumentError, Option } from "commander";
import { keepServing } from "../../bug.js";
import { DEFAULT_READER_TIMEOUT_MS } from "../../cluster/processes.js";
import { BALANCE_MODES, DEFAULT_RESIDENCE_MS, DEFAULT_THRESHOLD, type BalanceMode } from "../../policy/transfer.js";

export interface NodeFlags {
  name: string;
  host: string;
  port: number;
  join?: string;
  secretFile?: string;
  tlsCert?: string;
  tlsKey?: string;
  ca?: string;
  maxPending: number;
  maxConnections: number;
  maxFrame: number;
  maxProcs: number;
  maxMemory: number;
  cpus: number;
  heartbeat: number;
  forwarding: ForwardingMode;
  balance: BalanceMode;
  balanceThreshold: number;
  residence: number;
  mailbox: number;
  deliverTimeout: number;
  updateWait: number;
  readerTimeout: number;
}

/** A number from 0 to 100 (the balance threshold). */
const nonNegative = (what: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0 || n > 100) throw new InvalidArgumentError(`${what}: "${v}" is not a number from 0 to 100`);
  return n;
};

/** How long a stopped node may take to let go of its last handles before it exits anyway. */
const EXIT_GRACE_MS = 1000;

export function nodeCommand(p: Command): void {
  p.command("node")
    .description("run a host node in this terminal (Ctrl-C stops it)")
    .requiredOption("--name <name>", "the node's name, e.g. A")
    .option("--host <host>", "address to listen on", "127.0.0.1")
    .option("--port <port>", "port to listen on (0: any free port)", count("--port"), 7001)
    .option("--join <url>", "join the cluster through this member, e.g. ws://127.0.0.1:7001")
    .option("--secret-file <file>", "the cluster secret (default: $MIGRANT_SECRET_FILE; without one, loopback only)")
    .option("--tls-cert <file>", "serve wss:// with this certificate (PEM; with --tls-key)")
    .option("--tls-key <file>", "the private key of --tls-cert (PEM, unencrypted)")
    .option(...CA_FLAG)
    .option("--max-frame <size>", "largest protocol frame accepted (from an authenticated peer)", size("--max-frame"), DEFAULT_MAX_FRAME)
    .option(
      "--max-pending <n>",
      "most connections authenticating at once; more are refused",
      count("--max-pending", 1),
      DEFAULT_MAX_PENDING,
    )
    .option("--max-connections <n>", "most connections at once; more are refused", count("--max-connections", 1), DEFAULT_MAX_CONNECTIONS)
    .option("--max-procs <n>", "most processes running at once", count("--max-procs"), 64)
    .option("--max-memory <size>", "most guest memory promised at once (sum of guests' maximum memory)", size("--max-memory"), 16 * GiB)
    .addOption(
      new Option("--cpus <n>", "how many processes it runs at full speed; beyond that they share it, held in turns")
        .argParser(positive("--cpus"))
        .default(availableParallelism(), `this machine's cores, ${availableParallelism()}`),
    )
    .option(
      "--heartbeat <ms>",
      "heartbeat interval; a node silent for 6 of them is down (until it is heard again)",
      count("--heartbeat"),
      500,
    )
    .addOption(
      new Option("--forwarding <mode>", "how messages reach a process that moved; the same on every node of a cluster")
        .choices(FORWARDING_MODES)
        .default("traversal"),
    )
    .addOption(
      new Option("--balance <mode>", "move processes when load is uneven: who starts a move; the same on every node of a cluster")
        .choices(BALANCE_MODES)
        .default("off"),
    )
    .option(
      "--balance-threshold <x>",
      "a node is overloaded when its demand is above cpus x (1 + x); the same on every node of a cluster",
      nonNegative("--balance-threshold"),
      DEFAULT_THRESHOLD,
    )
    .option(
      "--residence <ms>",
      "the balancer does not move a process again until it has run this long on its node",
      count("--residence"),
      DEFAULT_RESIDENCE_MS,
    )
    .option("--mailbox <n>", "messages a process's mailbox holds; a sender to a full one waits", count("--mailbox", 1), DEFAULT_CAPACITY)
    .option(
      "--deliver-timeout <ms>",
      "a message that makes no progress this long is given up: its send returns false, and this node logs why",
      count("--deliver-timeout", 1),
      30_000,
    )
    .option(
      "--update-wait <ms>",
      "--forwarding update: how long a move waits for the nodes that must learn the new address",
      count("--update-wait"),
      1000,
    )
    .option(
      "--reader-timeout <ms>",
      "a client that reads none of a process's output this long, while the process waits for it, is dropped (it may attach again)",
      count("--reader-timeout", 1),
      DEFAULT_READER_TIMEOUT_MS,
    )
    .action(async (f: NodeFlags) => {
      process.exitCode = await runNode(f);
    });
}

async function runNode(f: NodeFlags): Promise<number> {
  if (!NODE_NAME.test(f.name)) throw new UsageError(`--name "${f.name}": use 1-32 letters, digits, - or _`);
  const secret = readSecret(f.secretFile ?? process.env.MIGRANT_SECRET_FILE);
  if (secret.length === 0 && !LOOPBACK.test(f.host)) {
    throw new UsageError(`a node without --secret-file listens on loopback only; give --secret-file to listen on ${f.host}`);
  }
  if (!f.tlsCert !== !f.tlsKey) throw new UsageError("--tls-cert and --tls-key go together: give both (or neither, for ws://)");
  const tls = f.tlsCert && f.tlsKey ? readTlsIdentity(f.tlsCert, f.tlsKey) : undefined;
  const ca = readCa(f.ca ?? process.env.MIGRANT_CA);
  const log = lineWriter(process.stdout);
  keepServing(); // a bug in handling one message is logged; it does not end every process here (host/bug.ts)
  const node = new ClusterNode({
    ...f,
    secret,
    tls,
    ca,
    heartbeatMs: f.heartbeat,
    deliverTimeoutMs: f.deliverTimeout,
    updateWaitMs: f.updateWait,
    readerTimeoutMs: f.readerTimeout,
    balanceThreshold: f.balanceThreshold,
    residenceMs: f.residence,
    log,
  });
  await node.start();
  log(
    `* node ${f.name} listening on ${node.url}` +
      (secret.length ? " (cluster secret required)" : " (no --secret-file: loopback only, no secret asked)") +
      (tls ? `; TLS with ${tls.certFile}` : "") +
      `; limits: ${f.maxProcs} processes, ${formatSize(f.maxMemory)} of guest memory, frames up to ${formatSize(f.maxFrame)}` +
      `; ${f.cpus} cpus` +
      `; messages forwarded by ${f.forwarding}, mailboxes of ${f.mailbox}` +
      (f.balance === "off" ? "; no balancing" : `; balancing: ${f.balance}, threshold ${f.balanceThreshold}, residence ${f.residence} ms`),
  );
  return new Promise((resolve) => {
    let stopping = false;
    const stop = (why: string) => {
      if (stopping) process.exit(130);
      stopping = true;
      void node.stop(why).finally(() => {
        resolve(0);
        // whatever might still hold the loop open (a socket that never closes), the node has said it stopped: it ends
        setTimeout(() => process.exit(0), EXIT_GRACE_MS).unref();
      });
    };
    process.on("SIGINT", () => stop("stopped by Ctrl-C"));
    process.on("SIGTERM", () => stop("stopped by SIGTERM"));
  });
}
