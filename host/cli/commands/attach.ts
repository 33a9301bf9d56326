// `migrant attach PID`: follow a process's stdout, wherever it runs, to its
// exit, and exit with its code.

import type { Command } from "commander";
import { Cluster } from "../../client/cluster.js";
import { gapNote, stdio } from "../console.js";
import { RING } from "../../cluster/output-log.js";
import { count, remoteFlags, toAddress, type RemoteFlags } from "../flags.js";

export function attachCommand(p: Command): void {
  remoteFlags(
    p
      .command("attach")
      .description("follow a process's stdout, wherever it runs, to its exit")
      .argument("<pid>")
      .option("--from <line>", `start at this output line (the node keeps the last ${RING} lines)`, count("--from", 1), 1),
  ).action(async (pid: string, f: RemoteFlags & { from: number }) => {
    const e = await new Cluster(toAddress(f), gapNote(stdio.note)).attach(pid, stdio.out, f.from);
    if (e.error) stdio.note(`process ${pid} ended: ${e.error}`);
    process.exitCode = e.code;
  });
}
