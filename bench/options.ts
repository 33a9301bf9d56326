// The flags of `migrant bench` (host/cli/commands/bench.ts defines them),
// checked and turned into the benchmark's options; a bad one is a usage error.

import { UsageError } from "../host/errors.js";
import { REQUESTABLE, type RequestedStrategy } from "../host/migration/options.js";
import type { BenchOptions } from "./run.js";
import { BALANCE_MODES, WORKLOAD_NAMES, type BalanceMode } from "./workloads.js";
import { FORWARDING_MODES, type ForwardingMode } from "../host/cluster/forwarding/forwarding.js";

export interface BenchFlags {
  quick?: boolean;
  workloads?: string;
  strategies?: string;
  sizes?: string;
  reps?: number;
  compress?: boolean;
  link?: string | boolean;
  delay: number;
  overhead: boolean;
  messaging: boolean;
  messagingOnly?: boolean;
  forwarding?: string;
  soak?: number;
  /** --balance [modes]: true without a list */
  balance?: string | boolean;
  out: string;
}

/** Memory sizes the workloads can run at, MiB (their arrays must stay under AssemblyScript's 1 GiB block limit). */
const MAX_SIZE_MIB = 1000;

/** A comma-separated list, each item one of `all` (all of them when not given). */
function list(v: string | undefined, all: readonly string[], what: string): string[] {
  if (v === undefined) return [...all];
  const items = v
    .split(",")
    .map((x) => x.trim())
    .filter(Boolean);
  const bad = items.filter((x) => !all.includes(x));
  if (bad.length || !items.length) throw new UsageError(`${what}: ${bad.join(", ") || "nothing given"} (choose from ${all.join(", ")})`);
  return items;
}

/** The soak's guest buffer unless --sizes says otherwise, MiB. */
const SOAK_SIZE_MIB = 16;

/** --balance runs on its own, on loopback; its modes (all without a list), or null without --balance. */
function balanceModes(f: BenchFlags): BalanceMode[] | null {
  if (f.balance === undefined) return null;
  if (f.soak !== undefined || f.link !== undefined || f.messagingOnly || f.compress) {
    throw new UsageError("--balance runs on its own, on loopback: leave out --soak, --link, --compress and --messaging-only");
  }
  return list(typeof f.balance === "string" ? f.balance : undefined, BALANCE_MODES, "--balance") as BalanceMode[];
}

export function benchFromFlags(f: BenchFlags): BenchOptions {
  const balance = balanceModes(f);
  if (f.soak !== undefined && (f.link !== undefined || f.messagingOnly || f.compress)) {
    throw new UsageError("--soak runs on its own, on loopback: leave out --link, --compress and --messaging-only");
  }
  if (f.compress && f.messagingOnly) throw new UsageError("--compress is for the downtime suite: leave out --messaging-only");
  if (f.soak !== undefined && f.sizes !== undefined && f.sizes.includes(",")) {
    throw new UsageError(`--sizes: with --soak, one size (the guest's buffer in MiB), not "${f.sizes}"`);
  }
  const sizes = (f.sizes ?? (f.soak !== undefined ? String(SOAK_SIZE_MIB) : f.quick ? "64" : "16,64,256,1000"))
    .split(",")
    .map((x) => Number(x.trim()));
  if (sizes.some((n) => !Number.isInteger(n) || n < 1 || n > MAX_SIZE_MIB)) {
    throw new UsageError(
      `--sizes: "${f.sizes}" must be whole MiB from 1 to ${MAX_SIZE_MIB} (the workloads' arrays must stay under AssemblyScript's 1 GiB block limit)`,
    );
  }
  return {
    workloads: list(f.workloads, WORKLOAD_NAMES, "--workloads"),
    strategies: list(f.strategies, REQUESTABLE, "--strategies") as RequestedStrategy[],
    sizes,
    reps: f.reps ?? (f.quick ? 1 : 3),
    compress: !!f.compress,
    quick: !!f.quick,
    overhead: f.overhead && !f.messagingOnly,
    messaging: f.messaging,
    messagingOnly: !!f.messagingOnly,
    forwarding: list(f.forwarding, FORWARDING_MODES, "--forwarding") as ForwardingMode[],
    link: f.link === true ? "1gbit" : f.link || null,
    delayMs: f.delay,
    soak: f.soak ?? null,
    balance,
    out: f.out,
  };
}
