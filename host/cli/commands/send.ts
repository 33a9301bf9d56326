// `migrant send PID|NAME TEXT`: a message to a process, wherever it runs.

import type { Command } from "commander";
import { Cluster } from "../../client/cluster.js";
import { stdio } from "../console.js";
import { remoteFlags, toAddress, type RemoteFlags } from "../flags.js";

export function sendCommand(p: Command): void {
  remoteFlags(
    p
      .command("send")
      .description("send TEXT (as UTF-8 bytes) to a process, by pid or by the name it registered; returns once it is in its mailbox")
      .argument("<to>", "a pid (A.17) or a registered name")
      .argument("<text>", "the message")
      .option("--json", "print the delivery as JSON: pid, extra hops, milliseconds"),
  ).action(async (to: string, text: string, f: RemoteFlags & { json?: boolean }) => {
    const d = await new Cluster(toAddress(f)).send(to, new TextEncoder().encode(text));
    if (f.json) return stdio.out(JSON.stringify(d));
    stdio.note(`delivered to ${d.pid} (${d.hops} extra ${d.hops === 1 ? "hop" : "hops"}, ${d.ms.toFixed(2)} ms)`);
  });
}
