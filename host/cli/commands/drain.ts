// `migrant drain NAME`: move every process off a node, each to the
// least-loaded other node, so that it can be stopped without losing anything.

import type { Command } from "commander";
import { Cluster } from "../../client/cluster.js";
import { STRATEGIES } from "../../migration/options.js";
import { stdio } from "../console.js";
import { remoteFlags, strategy, toAddress, type RemoteFlags } from "../flags.js";

export function drainCommand(p: Command): void {
  remoteFlags(
    p
      .command("drain")
      .description("move every process off a node (each to the least-loaded other node)")
      .argument("<name>", "the node to empty")
      .option("--strategy <s>", `${STRATEGIES.join(" | ")}`, "precopy")
      .option("--json", "print the statistics of every migration as one JSON array"),
  ).action(async (name: string, f: RemoteFlags & { strategy: string; json?: boolean }) => {
    const options = { strategy: strategy(f.strategy) };
    const each = (s: { pid: string; to: string; result: string; error: string | null; downtimeMs: number }) =>
      !f.json && stdio.note(`${s.pid} -> ${s.to}: ${s.result}${s.error ? ` (${s.error})` : ""}, downtime ${s.downtimeMs.toFixed(2)} ms`);
    const results = await new Cluster(toAddress(f)).drain(name, options, each);
    const failed = results.filter((s) => s.result !== "completed").length;
    if (f.json) stdio.out(JSON.stringify(results));
    else
      stdio.note(
        results.length
          ? `drained ${name}: ${results.length - failed} of ${results.length} processes moved`
          : `node ${name} runs no process`,
      );
    process.exitCode = failed ? 1 : 0;
  });
}
