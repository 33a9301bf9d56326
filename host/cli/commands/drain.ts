// `migrant drain NAME`: move every process off a node, each to the
// other node with the most CPU to spare, so that it can be stopped without losing anything.

import type { Command } from "commander";
import { Cluster } from "../../client/cluster.js";
import { REQUESTABLE } from "../../migration/options.js";
import { stdio } from "../console.js";
import { remoteFlags, strategy, toAddress, type RemoteFlags } from "../flags.js";

export function drainCommand(p: Command): void {
  remoteFlags(
    p
      .command("drain")
      .description("move every process off a node (each to the other node with the most CPU to spare)")
      .argument("<name>", "the node to empty")
      .option("--strategy <s>", `${REQUESTABLE.join(" | ")}`, "precopy")
      .option("--json", "print the statistics of every migration as one JSON array"),
  ).action(async (name: string, f: RemoteFlags & { strategy: string; json?: boolean }) => {
    const options = { strategy: strategy(f.strategy) };
    const each = (s: { pid: string; to: string; result: string; error: string | null; downtimeMs: number }) =>
      !f.json && stdio.note(`${s.pid} -> ${s.to}: ${s.result}${s.error ? ` (${s.error})` : ""}, downtime ${s.downtimeMs.toFixed(2)} ms`);
    const { moves, ended } = await new Cluster(toAddress(f)).drain(name, options, each);
    const failed = moves.filter((s) => s.result !== "completed").length;
    const endedNote = ended.length ? ` (${ended.length} ended before its turn: ${ended.join(", ")})` : "";
    if (f.json) stdio.out(JSON.stringify(moves));
    else
      stdio.note(
        moves.length + ended.length
          ? `drained ${name}: ${moves.length - failed} of ${moves.length} processes moved${endedNote}`
          : `node ${name} runs no process`,
      );
    process.exitCode = failed ? 1 : 0;
  });
}
