// `migrant run prog [args...]`: a guest here (optionally checkpointed to a
// file), or on a node of a cluster with --node: attached like `docker run`
// (its output streamed, followed across moves, its exit code) or detached.

import { basename } from "node:path";
import type { Command } from "commander";
import { UsageError } from "../../errors.js";
import { Cluster, type ClusterAddress } from "../../client/cluster.js";
import type { BuildOptions } from "../../build/options.js";
import { gapNote, stdio, type Console } from "../console.js";
import { buildFlags, CA_FLAG, millis, toAddress, toBuildOptions, type BuildFlags, type RemoteFlags } from "../flags.js";
import { loadImage, runLocal } from "../local.js";

type RunFlags = BuildFlags & RemoteFlags & { checkpointAfter?: number; to?: string; nodeName: string; on?: string; detach?: boolean };

export function runCommand(p: Command): void {
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
      .option("--on <name>", "run on the node of this name (through --node); auto: where it runs soonest (most CPU to spare)")
      .option("-d, --detach", "print the pid and return at once")
      .option("--secret-file <file>", "the cluster secret (default: $MIGRANT_SECRET_FILE)")
      .option(...CA_FLAG)
      .allowUnknownOption()
      .allowExcessArguments(),
  ).action(async (prog: string, args: string[], f: RunFlags) => {
    if (f.node ?? process.env.MIGRANT_NODE) {
      if (f.checkpointAfter !== undefined || f.to) throw new UsageError("--checkpoint-after/--to run a guest here; leave out --node");
      process.exitCode = await runRemote(prog, args, { address: toAddress(f), on: f.on, detach: !!f.detach, build: toBuildOptions(f) });
      return;
    }
    if (f.on || f.detach) throw new UsageError("--on and --detach need a cluster: give --node ws://HOST:PORT (or set MIGRANT_NODE)");
    process.exitCode = await runLocal(prog, args, {
      nodeName: f.nodeName,
      checkpointAfter: f.checkpointAfter,
      to: f.to,
      build: toBuildOptions(f),
    });
  });
}

interface RemoteRun {
  address: ClusterAddress;
  on?: string;
  detach: boolean;
  build: BuildOptions;
}

async function runRemote(program: string, args: string[], o: RemoteRun, io: Console = stdio): Promise<number> {
  const image = await loadImage(program, o.build, io);
  const module = { bytes: image.bytes, name: basename(program).replace(/\.ts$/, ".wasm") };
  const cluster = new Cluster(o.address, gapNote(io.note));
  const at = await cluster.place(o.on);
  if (o.on === "auto" && at)
    io.note(
      `placing it on node ${at.name} (CPU demand ${at.demand.toFixed(1)} of its ${Number(at.cpus.toFixed(2))} cpus, ${at.load} running)`,
    );
  if (o.detach) {
    io.out((await cluster.run(module, args, { at })).pid);
    return 0;
  }
  const { pid, ended } = await cluster.run(module, args, { at, onOutput: io.out });
  const onSigint = () => {
    io.note(`detached from ${pid}, which keeps running (migrant attach ${pid})`);
    process.exit(130);
  };
  process.once("SIGINT", onSigint);
  try {
    const e = await ended!;
    if (e.error) io.note(`process ${pid} ended: ${e.error}`);
    return e.code;
  } finally {
    process.off("SIGINT", onSigint);
  }
}
