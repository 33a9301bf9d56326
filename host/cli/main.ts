// The `migrant` command line.

import { Command, InvalidArgumentError, CommanderError } from "commander";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "../paths.js";
import { DEFAULT_MAX_MEMORY, DEFAULT_PAGE_SIZE, type BuildOptions } from "../build/options.js";
import { formatSize, parseSize } from "../build/size.js";
import { MigrantError, UsageError } from "../errors.js";
import { resumeLocal, runLocal, stdio } from "./local.js";
import { attach, cancelMigration, drain, kill, migrate, nodes, ps, runRemote, type Remote } from "./remote.js";
import { STRATEGIES, type Strategy } from "../migration/options.js";
import { runNode } from "./node-command.js";
import { readSecret } from "../net/auth.js";
import { DEFAULT_RESULTS, WORKLOAD_NAMES } from "../../bench/workloads.js";

const size = (what: string) => (v: string) => {
  try {
    return parseSize(v, what);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
};
const millis = (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`"${v}" is not a number of milliseconds`);
  return n;
};

interface BuildFlags {
  maxMemory?: number;
  pageSize?: number;
  asyncifyStack?: number;
}

function buildFlags(cmd: Command): Command {
  return cmd
    .option("--max-memory <size>", `maximum linear memory of the guest (default ${formatSize(DEFAULT_MAX_MEMORY)})`, size("--max-memory"))
    .option("--page-size <size>", `tracked page size for dirty and presence maps (default ${DEFAULT_PAGE_SIZE})`, size("--page-size"))
    .option(
      "--asyncify-stack <size>",
      "Asyncify buffer for a frozen call stack (default: sized from the module)",
      size("--asyncify-stack"),
    );
}

const count = (what: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${what}: "${v}" is not a whole number`);
  return n;
};

const DEFAULT_NODE = "ws://127.0.0.1:7001";

interface RemoteFlags {
  node?: string;
  secretFile?: string;
}

function remoteFlags(cmd: Command): Command {
  return cmd
    .option("--node <url>", `a node of the cluster (default: $MIGRANT_NODE, else ${DEFAULT_NODE})`)
    .option("--secret-file <file>", "the cluster secret (default: $MIGRANT_SECRET_FILE)");
}

const toRemote = (f: RemoteFlags): Remote => ({
  node: f.node ?? process.env.MIGRANT_NODE ?? DEFAULT_NODE,
  secret: readSecret(f.secretFile ?? process.env.MIGRANT_SECRET_FILE),
});

const toBuildOptions = (f: BuildFlags): BuildOptions => ({
  maxMemory: f.maxMemory,
  pageSize: f.pageSize,
  asyncifyStack: f.asyncifyStack,
});

export function program(): Command {
  const p = new Command("migrant")
    .description("A WebAssembly virtual machine with live migration of running guests")
    .version(JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).version)
    .showHelpAfterError()
    .exitOverride(); // before the subcommands, which inherit it

  buildFlags(
    p
      .command("build")
      .description("compile an AssemblyScript guest into a migratable module")
      .argument("<prog.ts>", 'the guest program (imports from "migrant", exports main)')
      .option("-o, --out <file>", "output file (default: the source name with .wasm)"),
  ).action(async (source: string, f: BuildFlags & { out?: string }) => {
    const out = f.out ?? source.replace(/\.ts$/, "") + ".wasm";
    const { build } = await import("../build/build.js");
    const r = await build(source, toBuildOptions(f));
    writeFileSync(out, r.wasm);
    const L = r.layout;
    stdio.note(
      `built ${out}: ${formatSize(r.wasm.length)}, max memory ${formatSize(L.maxPages * 65536)}, ` +
        `reserved ${formatSize(L.base)}, Asyncify buffer ${formatSize(L.asyncEnd - L.asyncStart)}, ` +
        `${r.stats.accesses} memory accesses guarded, ${r.stats.polls} polls`,
    );
  });

  buildFlags(
    p
      .command("run")
      .description("run a guest, streaming its stdout; exits with the guest's exit code (here, or on a node with --node)")
      .argument("<program>", "a .wasm built by `migrant build`, or a .ts (built first)")
      .argument("[args...]", "arguments for the guest (after `--` if they look like options)")
      .option("--checkpoint-after <ms>", "(here) freeze the guest after this many milliseconds ...", millis)
      .option("--to <file>", "(here) ... and write its snapshot here (continue it with `migrant resume`)")
      .option("--node-name <name>", "(here) the node name the guest sees", "local")
      .option("--node <url>", "run on this node of a cluster (default: $MIGRANT_NODE; without either, run here)")
      .option("--on <name>", "run on the node of this name (through --node); auto: the least-loaded node")
      .option("-d, --detach", "print the pid and return at once")
      .option("--secret-file <file>", "the cluster secret (default: $MIGRANT_SECRET_FILE)")
      .allowUnknownOption()
      .allowExcessArguments(),
  ).action(
    async (
      prog: string,
      args: string[],
      f: BuildFlags & RemoteFlags & { checkpointAfter?: number; to?: string; nodeName: string; on?: string; detach?: boolean },
    ) => {
      const remote = f.node ?? process.env.MIGRANT_NODE;
      if (remote) {
        if (f.checkpointAfter !== undefined || f.to) throw new UsageError("--checkpoint-after/--to run a guest here; leave out --node");
        process.exitCode = await runRemote(prog, args, { ...toRemote(f), on: f.on, detach: !!f.detach, build: toBuildOptions(f) });
        return;
      }
      if (f.on || f.detach) throw new UsageError("--on and --detach need a cluster: give --node ws://HOST:PORT (or set MIGRANT_NODE)");
      process.exitCode = await runLocal(prog, args, {
        nodeName: f.nodeName,
        checkpointAfter: f.checkpointAfter,
        to: f.to,
        build: toBuildOptions(f),
      });
    },
  );

  p.command("node")
    .description("run a host node in this terminal (Ctrl-C stops it)")
    .requiredOption("--name <name>", "the node's name, e.g. A")
    .option("--host <host>", "address to listen on", "127.0.0.1")
    .option("--port <port>", "port to listen on (0: any free port)", count("--port"), 7001)
    .option("--join <url>", "join the cluster through this member, e.g. ws://127.0.0.1:7001")
    .option("--secret-file <file>", "the cluster secret (default: $MIGRANT_SECRET_FILE; without one, loopback only)")
    .option("--max-frame <size>", "largest protocol frame accepted", size("--max-frame"), 64 * 1024 * 1024)
    .option("--max-procs <n>", "most processes running at once", count("--max-procs"), 64)
    .option(
      "--max-memory <size>",
      "most guest memory promised at once (sum of guests' maximum memory)",
      size("--max-memory"),
      16 * 1024 ** 3,
    )
    .option("--heartbeat <ms>", "heartbeat interval; a node silent for 6 of them is down", count("--heartbeat"), 500)
    .action(async (f) => {
      process.exitCode = await runNode(f);
    });

  remoteFlags(p.command("ps").description("every process of the cluster").option("--json", "one JSON array")).action(
    async (f: RemoteFlags & { json?: boolean }) => {
      process.exitCode = await ps(toRemote(f), !!f.json);
    },
  );
  remoteFlags(p.command("nodes").description("every node of the cluster").option("--json", "one JSON array")).action(
    async (f: RemoteFlags & { json?: boolean }) => {
      process.exitCode = await nodes(toRemote(f), !!f.json);
    },
  );
  remoteFlags(p.command("attach").description("follow a process's stdout, wherever it runs, to its exit").argument("<pid>")).action(
    async (pid: string, f: RemoteFlags) => {
      process.exitCode = await attach(pid, toRemote(f));
    },
  );
  remoteFlags(
    p
      .command("migrate")
      .description("move a running process to another node, live")
      .argument("[pid]", "the process to move")
      .option("--to <name>", "the destination node")
      .option("--strategy <s>", `${STRATEGIES.join(" | ")}`, "precopy")
      .option("--max-downtime <ms>", "pre-copy: stop the rounds when what is left fits this", millis)
      .option("--max-rounds <n>", "pre-copy: at most this many rounds", count("--max-rounds"))
      .option("--bandwidth <MBps>", "cap the page stream at this many megabytes per second", millis)
      .option("--no-push", "post-copy: fetch pages only when the guest touches them")
      .option("--json", "print the statistics as one JSON object")
      .option("--cancel <pid>", "cancel the migration of this process under way (the process stays where it is)"),
  ).action(
    async (
      pid: string | undefined,
      f: RemoteFlags & {
        to?: string;
        strategy: string;
        maxDowntime?: number;
        maxRounds?: number;
        bandwidth?: number;
        push: boolean;
        json?: boolean;
        cancel?: string;
      },
    ) => {
      if (f.cancel) {
        process.exitCode = await cancelMigration(f.cancel, toRemote(f));
        return;
      }
      if (!pid || !f.to) throw new UsageError("usage: migrant migrate PID --to NODE [--strategy precopy] (or --cancel PID)");
      if (!STRATEGIES.includes(f.strategy as Strategy)) throw new UsageError(`--strategy must be one of ${STRATEGIES.join(", ")}`);
      process.exitCode = await migrate(pid, toRemote(f), {
        to: f.to,
        json: !!f.json,
        options: {
          strategy: f.strategy as Strategy,
          maxDowntimeMs: f.maxDowntime,
          maxRounds: f.maxRounds,
          bandwidthMBps: f.bandwidth,
          push: f.push,
        },
      });
    },
  );
  remoteFlags(
    p
      .command("drain")
      .description("move every process off a node (each to the least-loaded other node)")
      .argument("<name>", "the node to empty")
      .option("--strategy <s>", `${STRATEGIES.join(" | ")}`, "precopy")
      .option("--json", "print the statistics of every migration as one JSON array"),
  ).action(async (name: string, f: RemoteFlags & { strategy: string; json?: boolean }) => {
    if (!STRATEGIES.includes(f.strategy as Strategy)) throw new UsageError(`--strategy must be one of ${STRATEGIES.join(", ")}`);
    process.exitCode = await drain(name, toRemote(f), { strategy: f.strategy as Strategy, json: !!f.json });
  });
  remoteFlags(p.command("kill").description("end a process").argument("<pid>")).action(async (pid: string, f: RemoteFlags) => {
    process.exitCode = await kill(pid, toRemote(f));
  });

  p.command("bench")
    .description("the downtime benchmark: two real nodes, each workload x strategy x memory size, with a report")
    .option("--quick", "a few minutes: 64 MiB only, one run each, overhead measured once")
    .option("--workloads <list>", `comma-separated, of ${WORKLOAD_NAMES.join(",")} (default: all)`)
    .option("--strategies <list>", `comma-separated, of ${STRATEGIES.join(",")} (default: all)`)
    .option("--sizes <list>", "memory sizes in MiB, comma-separated, each 1..1000 (default 16,64,256,1000; --quick: 64)")
    .option("--reps <n>", "migrations per workload, size and strategy (default 3; --quick: 1)", count("--reps"))
    .option("--link [rate]", "run the nodes in two network namespaces joined by a veth capped at this rate (tc tbf; needs root)")
    .option("--delay <ms>", "with --link: added delay each way, where the kernel has netem", millis, 0.5)
    .option("--no-overhead", "skip the overhead and freeze-latency measurements")
    .option("--out <dir>", "where to write the results", DEFAULT_RESULTS)
    .action(
      async (f: {
        quick?: boolean;
        workloads?: string;
        strategies?: string;
        sizes?: string;
        reps?: number;
        link?: string | boolean;
        delay: number;
        overhead: boolean;
        out: string;
      }) => {
        const list = (v: string | undefined, all: readonly string[], what: string) => {
          if (v === undefined) return [...all];
          const items = v
            .split(",")
            .map((x) => x.trim())
            .filter(Boolean);
          const bad = items.filter((x) => !all.includes(x));
          if (bad.length || !items.length)
            throw new UsageError(`${what}: ${bad.join(", ") || "nothing given"} (choose from ${all.join(", ")})`);
          return items;
        };
        const sizes = (f.sizes ?? (f.quick ? "64" : "16,64,256,1000")).split(",").map((x) => Number(x.trim()));
        if (sizes.some((n) => !Number.isInteger(n) || n < 1 || n > 1000)) {
          throw new UsageError(
            `--sizes: "${f.sizes}" must be whole MiB from 1 to 1000 (the workloads' arrays must stay under AssemblyScript's 1 GiB block limit)`,
          );
        }
        if (f.reps === 0) throw new UsageError("--reps must be at least 1");
        const { runBench } = await import("../../bench/run.js"); // the toolchain loads only for this command
        await runBench({
          workloads: list(f.workloads, WORKLOAD_NAMES, "--workloads"),
          strategies: list(f.strategies, STRATEGIES, "--strategies") as Strategy[],
          sizes,
          reps: f.reps ?? (f.quick ? 1 : 3),
          quick: !!f.quick,
          overhead: f.overhead,
          link: f.link === true ? "1gbit" : f.link || null,
          delayMs: f.delay,
          out: f.out,
        });
      },
    );

  p.command("resume")
    .description("continue a process from a snapshot file, to its end")
    .argument("<file>", "a snapshot written by `migrant run --checkpoint-after MS --to FILE`")
    .option("--node-name <name>", "the node name the guest sees", "local")
    .action(async (file: string, f: { nodeName: string }) => {
      process.exitCode = await resumeLocal(file, f.nodeName);
    });
  return p;
}

export async function main(argv: string[]): Promise<void> {
  const p = program();
  try {
    await p.parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version end with 0; every usage error with 2, like ours
      process.exitCode = e.exitCode === 0 ? 0 : 2;
      return;
    }
    if (e instanceof MigrantError) {
      if (e.message) stdio.note(e.message);
      process.exitCode = e.exitCode;
      return;
    }
    stdio.note(`internal error: ${(e as Error).stack ?? e}`);
    process.exitCode = 70;
  }
}
