// `migrant attach PID`: follow a process's stdout, wherever it runs, to its
// exit, and exit with its code.

import type { Command } from "commander";
import { Cluster } from "../../client/cluster.js";
import { stdio } from "../console.js";
import { remoteFlags, toAddress, type RemoteFlags } from "../flags.js";

export function attachCommand(p: Command): void {
  remoteFlags(p.command("attach").description("follow a process's stdout, wherever it runs, to its exit").argument("<pid>")).action(
    async (pid: string, f: RemoteFlags) => {
      const e = await new Cluster(toAddress(f)).attach(pid, stdio.out);
      if (e.error) stdio.note(`process ${pid} ended: ${e.error}`);
      process.exitCode = e.code;
    },
  );
}
