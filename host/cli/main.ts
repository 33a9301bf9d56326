// The `migrant` command line: one file per command in commands/, each
// printing what the client library (client/) or the local runner (local.ts)
// returns. Every failure the user can act on is a MigrantError: its message
// alone is printed (never a stack trace) and its exit code returned.

import { Command, CommanderError } from "commander";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "../paths.js";
import { MigrantError } from "../errors.js";
import { stdio } from "./console.js";
import { attachCommand } from "./commands/attach.js";
import { balanceCommand } from "./commands/balance.js";
import { benchCommand } from "./commands/bench.js";
import { buildCommand } from "./commands/build.js";
import { drainCommand } from "./commands/drain.js";
import { killCommand } from "./commands/kill.js";
import { migrateCommand } from "./commands/migrate.js";
import { nodeCommand } from "./commands/node.js";
import { nodesCommand } from "./commands/nodes.js";
import { psCommand } from "./commands/ps.js";
import { resumeCommand } from "./commands/resume.js";
import { runCommand } from "./commands/run.js";
import { sendCommand } from "./commands/send.js";

/** An unexpected failure: a bug (EX_SOFTWARE). */
const INTERNAL_ERROR = 70;

export function program(): Command {
  const p = new Command("migrant")
    .description("A WebAssembly virtual machine with live migration of running guests")
    .version(JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).version)
    .showHelpAfterError()
    .exitOverride(); // before the subcommands, which inherit it
  for (const command of [
    buildCommand,
    runCommand,
    nodeCommand,
    psCommand,
    nodesCommand,
    attachCommand,
    migrateCommand,
    drainCommand,
    balanceCommand,
    killCommand,
    sendCommand,
    benchCommand,
    resumeCommand,
  ]) {
    command(p);
  }
  return p;
}

export async function main(argv: string[]): Promise<void> {
  const p = program();
  try {
    await p.parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version end with 0; every usage error with 2, like ours
      process.exitCode = e.exitCode === 0 ? 0 : 2;
      return;
    }
    if (e instanceof MigrantError) {
      if (e.message) stdio.note(e.message);
      process.exitCode = e.exitCode;
      return;
    }
    stdio.note(`internal error: ${(e as Error).stack ?? e}`);
    process.exitCode = INTERNAL_ERROR;
  }
}
