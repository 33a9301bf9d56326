// `migrant nodes`: every node of the cluster, as a table or JSON, and each
// node's counters of messages between processes.

import type { Command } from "commander";
import { Cluster } from "../../client/cluster.js";
import type { MailCounters } from "../../cluster/views.js";
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
          ["NAME", "ADDRESS", "STATE", "LOAD", "PROCESSES", "MEMORY", "LOOP", "LAST HEARD"],
          list.map((n) => [
            n.name,
            n.url,
            n.state + (n.reason ? ` (${n.reason})` : ""),
            n.load,
            n.procs,
            formatSize(n.memory),
            `${n.loopMs} ms`,
            n.silentMs ? `${ago(n.silentMs)} ago` : "now",
          ]),
        ),
      );
      // messages between processes: what each node sent, took in, passed on, returned and tried again
      const dash = "-";
      stdio.out(
        "\n" +
          table(
            [
              "NAME",
              "SENT",
              "DELIVERED",
              "FORWARDED",
              "RETURNED",
              "RESENT",
              "HOPS/MSG",
              "MAX HOPS",
              "CONTROL",
              "MIGRATIONS OUT",
              "GIVEN UP",
            ],
            list.map((n) => {
              const c = n.mail;
              if (!c) return [n.name, ...Array<string>(10).fill(dash)];
              return [
                n.name,
                c.sent,
                c.delivered,
                c.forwarded,
                c.returned,
                c.resent,
                c.delivered ? (c.hops / c.delivered).toFixed(2) : dash,
                c.maxHops,
                c.control,
                c.departures,
                c.undeliverable,
              ];
            }),
          ),
      );
      const sum = (k: keyof MailCounters) => list.reduce((a, n) => a + (n.mail?.[k] ?? 0), 0);
      const [control, moves, delivered] = [sum("control"), sum("departures"), sum("delivered")];
      stdio.out(
        `\ncluster: ${delivered} messages delivered, ${delivered ? (sum("hops") / delivered).toFixed(2) : 0} extra hops each; ` +
          `${control} control messages for ${moves} migrations` +
          (moves ? ` (${(control / moves).toFixed(1)} per migration)` : ""),
      );
    },
  );
}
