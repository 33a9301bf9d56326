// `migrant build prog.ts`: compile a guest into a migratable module.

import { writeFileSync } from "node:fs";
import type { Command } from "commander";
import { WASM_PAGE } from "../../memory/layout.js";
import { formatSize } from "../../text/size.js";
import { stdio } from "../console.js";
import { buildFlags, toBuildOptions, type BuildFlags } from "../flags.js";

export function buildCommand(p: Command): void {
  buildFlags(
    p
      .command("build")
      .description("compile an AssemblyScript guest into a migratable module")
      .argument("<prog.ts>", 'the guest program (imports from "migrant", exports main)')
      .option("-o, --out <file>", "output file (default: the source name with .wasm)"),
  ).action(async (source: string, f: BuildFlags & { out?: string }) => {
    const out = f.out ?? source.replace(/\.ts$/, "") + ".wasm";
    const { build } = await import("../../build/build.js"); // the toolchain loads only for this command
    const r = await build(source, toBuildOptions(f));
    writeFileSync(out, r.wasm);
    const L = r.layout;
    stdio.note(
      `built ${out}: ${formatSize(r.wasm.length)}, max memory ${formatSize(L.maxPages * WASM_PAGE)}, ` +
        `reserved ${formatSize(L.base)}, Asyncify buffer ${formatSize(L.asyncEnd - L.asyncStart)}, ` +
        `${r.stats.accesses} memory accesses guarded, ${r.stats.polls} polls`,
    );
  });
}
