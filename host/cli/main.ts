// The `migrant` command line.

import { Command, InvalidArgumentError, CommanderError } from "commander";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "../paths.js";
import { basename } from "node:path";
import { DEFAULT_MAX_MEMORY, DEFAULT_PAGE_SIZE, type BuildOptions } from "../build/options.js";
import { formatSize, parseSize } from "../build/size.js";
import { MigrantError } from "../errors.js";
import { resumeLocal, runLocal, stdio } from "./local.js";

const size = (what: string) => (v: string) => {
  try {
    return parseSize(v, what);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
};
const millis = (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`"${v}" is not a number of milliseconds`);
  return n;
};

interface BuildFlags {
  maxMemory?: number;
  pageSize?: number;
  asyncifyStack?: number;
}

function buildFlags(cmd: Command): Command {
  return cmd
    .option("--max-memory <size>", `maximum linear memory of the guest (default ${formatSize(DEFAULT_MAX_MEMORY)})`, size("--max-memory"))
    .option("--page-size <size>", `tracked page size for dirty and presence maps (default ${DEFAULT_PAGE_SIZE})`, size("--page-size"))
    .option("--asyncify-stack <size>", "Asyncify buffer for a frozen call stack (default: sized from the module)", size("--asyncify-stack"));
}

const toBuildOptions = (f: BuildFlags): BuildOptions => ({
  maxMemory: f.maxMemory,
  pageSize: f.pageSize,
  asyncifyStack: f.asyncifyStack,
});

export function program(): Command {
  const p = new Command("migrant")
    .description("A WebAssembly virtual machine with live migration of running guests")
    .version(JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).version)
    .showHelpAfterError()
    .exitOverride(); // before the subcommands, which inherit it

  buildFlags(
    p
      .command("build")
      .description("compile an AssemblyScript guest into a migratable module")
      .argument("<prog.ts>", "the guest program (imports from \"migrant\", exports main)")
      .option("-o, --out <file>", "output file (default: the source name with .wasm)"),
  ).action(async (source: string, f: BuildFlags & { out?: string }) => {
    const out = f.out ?? source.replace(/\.ts$/, "") + ".wasm";
    const { build } = await import("../build/build.js");
    const r = await build(source, toBuildOptions(f));
    writeFileSync(out, r.wasm);
    const L = r.layout;
    stdio.note(
      `built ${out}: ${formatSize(r.wasm.length)}, max memory ${formatSize(L.maxPages * 65536)}, ` +
        `reserved ${formatSize(L.base)}, Asyncify buffer ${formatSize(L.asyncEnd - L.asyncStart)}, ` +
        `${r.stats.accesses} memory accesses guarded, ${r.stats.polls} polls`,
    );
  });

  buildFlags(
    p
      .command("run")
      .description("run a guest here, streaming its stdout; exits with the guest's exit code")
      .argument("<program>", "a .wasm built by `migrant build`, or a .ts (built first)")
      .argument("[args...]", "arguments for the guest (after `--` if they look like options)")
      .option("--checkpoint-after <ms>", "freeze the guest after this many milliseconds ...", millis)
      .option("--to <file>", "... and write its snapshot here (continue it with `migrant resume`)")
      .option("--node-name <name>", "the node name the guest sees", "local")
      .allowUnknownOption()
      .allowExcessArguments(),
  ).action(async (prog: string, args: string[], f: BuildFlags & { checkpointAfter?: number; to?: string; nodeName: string }) => {
    process.exitCode = await runLocal(prog, args, {
      nodeName: f.nodeName,
      checkpointAfter: f.checkpointAfter,
      to: f.to,
      build: toBuildOptions(f),
    });
  });

  p.command("resume")
    .description("continue a process from a snapshot file, to its end")
    .argument("<file>", "a snapshot written by `migrant run --checkpoint-after MS --to FILE`")
    .option("--node-name <name>", "the node name the guest sees", "local")
    .action(async (file: string, f: { nodeName: string }) => {
      process.exitCode = await resumeLocal(file, f.nodeName);
    });
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
    process.exitCode = 70;
  }
}

