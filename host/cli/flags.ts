// The option parsers and the option groups several commands share. A bad
// value is a usage error (exit code 2) that says what was expected.

import { InvalidArgumentError, type Command } from "commander";
import { DEFAULT_MAX_MEMORY, DEFAULT_PAGE_SIZE, type BuildOptions } from "../build/options.js";
import { formatSize, parseSize } from "../text/size.js";
import { readSecret } from "../net/auth.js";
import { readCa } from "../net/tls.js";
import { REQUESTABLE, type RequestedStrategy } from "../migration/options.js";
import { UsageError } from "../errors.js";
import type { ClusterAddress } from "../client/cluster.js";

export const size = (what: string) => (v: string) => {
  try {
    return parseSize(v, what);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
};

/** A number of milliseconds (or another non-negative amount), 0 allowed. */
export const millis = (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`"${v}" is not a number of milliseconds`);
  return n;
};

/** A whole number of at least `min`. */
export const count =
  (what: string, min = 0) =>
  (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min)
      throw new InvalidArgumentError(`${what}: "${v}" is not a whole number${min ? ` of at least ${min}` : ""}`);
    return n;
  };

/** A number greater than zero. */
export const positive = (what: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${what}: "${v}" is not a number greater than 0`);
  return n;
};

export interface BuildFlags {
  maxMemory?: number;
  pageSize?: number;
  asyncifyStack?: number;
}

export function buildFlags(cmd: Command): Command {
  return cmd
    .option("--max-memory <size>", `maximum linear memory of the guest (default ${formatSize(DEFAULT_MAX_MEMORY)})`, size("--max-memory"))
    .option("--page-size <size>", `tracked page size for dirty and presence maps (default ${DEFAULT_PAGE_SIZE})`, size("--page-size"))
    .option(
      "--asyncify-stack <size>",
      "Asyncify buffer for a frozen call stack (default: sized from the module)",
      size("--asyncify-stack"),
    );
}

export const toBuildOptions = (f: BuildFlags): BuildOptions => ({
  maxMemory: f.maxMemory,
  pageSize: f.pageSize,
  asyncifyStack: f.asyncifyStack,
});

const DEFAULT_NODE = "ws://127.0.0.1:7001";

export interface RemoteFlags {
  node?: string;
  secretFile?: string;
  ca?: string;
}

/** The --ca option: the CA that signs the nodes' certificates, for wss:// (commands with a --node, and `migrant node`). */
export const CA_FLAG = [
  "--ca <file>",
  "the CA certificate (PEM) the nodes' certificates are checked with, for wss:// (default: $MIGRANT_CA, else this machine's CAs)",
] as const;

export function remoteFlags(cmd: Command): Command {
  return cmd
    .option("--node <url>", `a node of the cluster (default: $MIGRANT_NODE, else ${DEFAULT_NODE})`)
    .option("--secret-file <file>", "the cluster secret (default: $MIGRANT_SECRET_FILE)")
    .option(...CA_FLAG);
}

export const toAddress = (f: RemoteFlags): ClusterAddress => ({
  node: f.node ?? process.env.MIGRANT_NODE ?? DEFAULT_NODE,
  secret: readSecret(f.secretFile ?? process.env.MIGRANT_SECRET_FILE),
  ca: readCa(f.ca ?? process.env.MIGRANT_CA),
});

/** The --strategy value, checked. */
export function strategy(s: string): RequestedStrategy {
  if (!REQUESTABLE.includes(s as RequestedStrategy)) throw new UsageError(`--strategy must be one of ${REQUESTABLE.join(", ")}`);
  return s as RequestedStrategy;
}
