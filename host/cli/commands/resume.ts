// `migrant resume FILE`: continue a snapshot here, to its end.

import type { Command } from "commander";
import { resumeLocal } from "../local.js";

export function resumeCommand(p: Command): void {
  p.command("resume")
    .description("continue a process from a snapshot file, to its end")
    .argument("<file>", "a snapshot written by `migrant run --checkpoint-after MS --to FILE`")
    .option("--node-name <name>", "the node name the guest sees", "local")
    .action(async (file: string, f: { nodeName: string }) => {
      process.exitCode = await resumeLocal(file, f.nodeName);
    });
}
