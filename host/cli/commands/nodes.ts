// `migrant nodes`: every node of the cluster, as a table or JSON.

import type { Command } from "commander";
import { Cluster } from "../../client/cluster.js";
import { formatSize } from "../../text/size.js";
import { ago } from "../../text/duration.js";
import { table } from "../../text/table.js";
import { stdio } from "../console.js";
import { remoteFlags, toAddress, type RemoteFlags } from "../flags.js";

export function nodesCommand(p: Command): void {
  remoteFlags(p.command("nodes").description("every node of the cluster").option("--json", "one JSON array")).action(
    async (f: RemoteFlags & { json?: boolean }) => {
      const list = (await new Cluster(toAddress(f)).nodes()).sort((a, b) => a.name.localeCompare(b.name));
      if (f.json) return stdio.out(JSON.stringify(list));
      stdio.out(
        table(
          ["NAME", "ADDRESS", "STATE", "LOAD", "PROCESSES", "MEMORY", "LAST HEARD"],
          list.map((n) => [
            n.name,
            n.url,
            n.state + (n.reason ? ` (${n.reason})` : ""),
            n.load,
            n.procs,
            formatSize(n.memory),
            n.silentMs ? `${ago(n.silentMs)} ago` : "now",
          ]),
        ),
      );
    },
  );
}
