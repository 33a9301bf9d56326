// `migrant ps`: every process of the cluster, as a table or JSON. CPU is the
// share of a core a running process got, DEMAND the share it wants (the part
// of its time it does not wait; 1.00 until its node has measured it): a
// process that gets less than it wants waits for its node's CPU.

import type { Command } from "commander";
import { Cluster } from "../../client/cluster.js";
import type { ProcInfo } from "../../cluster/views.js";
import { formatSize } from "../../text/size.js";
import { ago } from "../../text/duration.js";
import { table } from "../../text/table.js";
import { stdio } from "../console.js";
import { remoteFlags, toAddress, type RemoteFlags } from "../flags.js";

export function psCommand(p: Command): void {
  remoteFlags(p.command("ps").description("every process of the cluster").option("--json", "one JSON array")).action(
    async (f: RemoteFlags & { json?: boolean }) => {
      const list = (await new Cluster(toAddress(f)).ps()).sort((a, b) => a.pid.localeCompare(b.pid, undefined, { numeric: true }));
      if (f.json) return stdio.out(JSON.stringify(list));
      const state = (x: ProcInfo) => (x.state === "exited" || x.state === "trapped" ? `${x.state} (${x.code})` : x.state);
      const running = (x: ProcInfo, v: number) => (x.state === "running" ? v.toFixed(2) : "-");
      stdio.out(
        table(
          ["PID", "NAME", "NODE", "STATE", "CPU", "DEMAND", "MEMORY", "UPTIME", "MIGRATIONS", "MAILBOX", "COMMAND"],
          list.map((x) => [
            x.pid,
            x.name ?? "-",
            x.node,
            state(x),
            running(x, x.cpu),
            running(x, x.demand),
            formatSize(x.memory),
            ago(x.uptimeMs),
            x.migrations,
            x.mailbox,
            [x.module, ...x.args].join(" "),
          ]),
        ),
      );
    },
  );
}
