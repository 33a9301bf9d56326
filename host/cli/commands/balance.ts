// `migrant balance --dry-run`: what the balancer would move now, and why,
// from the entry node's view of the cluster (its heartbeats; nothing is
// probed and nothing moves): one line per move, `PID: FROM -> TO (REASON)`,
// or `nothing would move (WHY)`; --json prints the moves as one array. With
// the balancer off it shows what a symmetric one would do, and says so.

import type { Command } from "commander";
import { Cluster } from "../../client/cluster.js";
import { UsageError } from "../../errors.js";
import { stdio } from "../console.js";
import { remoteFlags, toAddress, type RemoteFlags } from "../flags.js";

export function balanceCommand(p: Command): void {
  remoteFlags(
    p
      .command("balance")
      .description("what the balancer would move now, and why (--dry-run: nothing moves)")
      .option("--dry-run", "print the moves the balancer would make now")
      .option("--json", "one JSON array of {pid, from, to, reason}"),
  ).action(async (f: RemoteFlags & { dryRun?: boolean; json?: boolean }) => {
    if (!f.dryRun)
      throw new UsageError(
        "usage: migrant balance --dry-run [--json]: only --dry-run exists; the nodes balance by themselves (migrant node --balance)",
      );
    const plan = await new Cluster(toAddress(f)).balancePlan();
    const off = plan.mode === "off";
    if (off) stdio.note("the balancer is off (migrant node --balance off): this is what a symmetric balancer would do");
    if (f.json) return stdio.out(JSON.stringify(plan.moves));
    if (!plan.moves.length) return stdio.out(`nothing would move (${plan.why}${off ? "; and the balancer is off" : ""})`);
    for (const m of plan.moves) stdio.out(`${m.pid}: ${m.from} -> ${m.to} (${m.reason})`);
  });
}
