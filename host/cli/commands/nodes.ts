// `migrant nodes`: every node of the cluster, as a table or JSON; each node's
// CPU (the sum of its running processes' demands against its capacity,
// --cpus: above it, its processes wait their turns); its counters of messages
// between processes; and, where its balancer reports them, the moves it made.

import type { Command } from "commander";
import { Cluster } from "../../client/cluster.js";
import type { MailCounters, NodeInfo } from "../../cluster/views.js";
import { formatSize } from "../../text/size.js";
import { ago } from "../../text/duration.js";
import { table } from "../../text/table.js";
import { stdio } from "../console.js";
import { remoteFlags, toAddress, type RemoteFlags } from "../flags.js";

const dash = "-";

/** A capacity as given (0.6, 2), a demand with one decimal: "1.9/2". */
const cpuCell = (n: Pick<NodeInfo, "demand" | "cpus">) => `${n.demand.toFixed(1)}/${Number(n.cpus.toFixed(2))}`;

function nodeTable(list: NodeInfo[]): string {
  return table(
    ["NAME", "ADDRESS", "STATE", "LOAD", "DEMAND/CPUS", "PROCESSES", "MEMORY", "LOOP", "LAST HEARD"],
    list.map((n) => [
      n.name,
      n.url,
      n.state + (n.reason ? ` (${n.reason})` : ""),
      n.load,
      cpuCell(n),
      n.procs,
      formatSize(n.memory),
      `${n.loopMs} ms`,
      n.silentMs ? `${ago(n.silentMs)} ago` : "now",
    ]),
  );
}

/** Messages between processes: what each node sent, took in, passed on, returned and tried again. */
function mailTable(list: NodeInfo[]): string {
  return table(
    ["NAME", "SENT", "DELIVERED", "FORWARDED", "RETURNED", "RESENT", "HOPS/MSG", "MAX HOPS", "CONTROL", "MIGRATIONS OUT", "GIVEN UP"],
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
  );
}

/** The balancer's moves per node (null when no node reports them). */
function balanceTable(list: NodeInfo[]): string | null {
  if (!list.some((n) => n.balance)) return null;
  return table(
    ["NAME", "BALANCER", "MOVED OUT", "TAKEN IN", "FAILED"],
    list.map((n) => {
      const b = n.balance;
      return b ? [n.name, b.mode, b.moved, b.received, b.failed] : [n.name, dash, dash, dash, dash];
    }),
  );
}

export function nodesCommand(p: Command): void {
  remoteFlags(p.command("nodes").description("every node of the cluster").option("--json", "one JSON array")).action(
    async (f: RemoteFlags & { json?: boolean }) => {
      const list = (await new Cluster(toAddress(f)).nodes()).sort((a, b) => a.name.localeCompare(b.name));
      if (f.json) return stdio.out(JSON.stringify(list));
      stdio.out(nodeTable(list));
      const balance = balanceTable(list);
      if (balance) stdio.out("\n" + balance);
      stdio.out("\n" + mailTable(list));
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
