// `migrant kill PID`: end a process, wherever it runs.

import type { Command } from "commander";
import { Cluster } from "../../client/cluster.js";
import { stdio } from "../console.js";
import { remoteFlags, toAddress, type RemoteFlags } from "../flags.js";

export function killCommand(p: Command): void {
  remoteFlags(p.command("kill").description("end a process").argument("<pid>")).action(async (pid: string, f: RemoteFlags) => {
    const where = await new Cluster(toAddress(f)).kill(pid);
    stdio.note(`killed ${pid} on ${where.node}`);
  });
}
