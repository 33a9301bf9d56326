// The benchmark's workloads (assembly/workloads/) and where results go: the
// constants the `migrant bench` command line needs without loading the
// benchmark itself (which brings in the compiler toolchain).

import { join } from "node:path";
import { ROOT } from "../host/paths.js";

export const WORKLOAD_DIR = join(ROOT, "assembly", "workloads");
export const WORKLOAD_NAMES = ["kvstore", "life", "nbody", "sort", "hash", "gc", "idle"] as const;
export const DEFAULT_RESULTS = join(ROOT, "bench", "results");
/** The balancer's modes (`migrant node --balance`), the ones `migrant bench --balance` compares. */
export { BALANCE_MODES, type BalanceMode } from "../host/policy/transfer.js";
