// `migrant bench`: the flags of the benchmark, handed over to bench/ (which
// checks them and runs it). The benchmark loads only for this command: it
// brings in the compiler toolchain.

import type { Command } from "commander";
import { REQUESTABLE } from "../../migration/options.js";
import { FORWARDING_MODES } from "../../cluster/forwarding/forwarding.js";
import { count, millis } from "../flags.js";
import { BALANCE_MODES, DEFAULT_RESULTS, WORKLOAD_NAMES } from "../../../bench/workloads.js";

export function benchCommand(p: Command): void {
  p.command("bench")
    .description(
      "the benchmark: downtime on two real nodes (each workload x strategy x memory size), overhead, " +
        "and the four message forwarding mechanisms side by side on three; with a report. --soak N: N migrations in a row instead; " +
        "--balance: the load balancer's modes compared instead",
    )
    .option("--quick", "a few minutes: 64 MiB only, one run each (overhead: 5 interleaved repetitions, as always)")
    .option("--workloads <list>", `comma-separated, of ${WORKLOAD_NAMES.join(",")} (default: all)`)
    .option("--strategies <list>", `comma-separated, of ${REQUESTABLE.join(",")} (default: all)`)
    .option("--sizes <list>", "memory sizes in MiB, comma-separated, each 1..1000 (default 16,64,256,1000; --quick: 64)")
    .option("--reps <n>", "migrations per workload, size and strategy (default 3; --quick: 1)", count("--reps", 1))
    .option(
      "--compress",
      "each strategy twice, without and with --compress (packed page batches); the report compares them (use with --link 100mbit)",
    )
    .option("--link [rate]", "run the nodes in two network namespaces joined by a veth capped at this rate (tc tbf; needs root)")
    .option("--delay <ms>", "with --link: added delay each way, where the kernel has netem", millis, 0.5)
    .option("--no-overhead", "skip the overhead and freeze-latency measurements")
    .option("--no-messaging", "skip the messaging benchmark (the four forwarding mechanisms)")
    .option("--messaging-only", "only the floor and the messaging benchmark")
    .option("--forwarding <list>", `the messaging benchmark's mechanisms, comma-separated, of ${FORWARDING_MODES.join(",")} (default: all)`)
    .option(
      "--soak <n>",
      "only the soak: n migrations in a row of one guest printing numbered lines, on three real nodes, by the strategies in turn; " +
        "reports failures, lines lost or repeated, each node's RSS before and after, and downtime (the target: 1000, none lost, RSS +<50 MB); " +
        "--sizes: the guest's MiB (default 16)",
      count("--soak", 1),
    )
    .option(
      "--balance [modes]",
      "only the balance benchmark: 8 CPU-bound jobs of different lengths started on node A of three real nodes (each --cpus 1), " +
        `once per balancer mode (comma-separated, of ${BALANCE_MODES.join(",")}; default: all), a fresh cluster each; ` +
        "reports makespan, mean completion time, migrations and whether every output equals an unmoved run's, " +
        "with a timeline of jobs per node (about 2 minutes; --quick: 4 short jobs)",
    )
    .option("--out <dir>", "where to write the results", DEFAULT_RESULTS)
    .action(async (flags) => {
      const { benchFromFlags } = await import("../../../bench/options.js");
      const { runBench } = await import("../../../bench/run.js");
      await runBench(benchFromFlags(flags));
    });
}
