// `migrant build`: asc with the flags of docs/DESIGN.md section 3, then the
// instrumenter. The Asyncify buffer is sized from the module: the build
// compiles once with a provisional reserved region, measures the largest
// Asyncify frame, and compiles again if the buffer must grow (asc's
// --memoryBase, where the guest's data begins, depends on it).

import asc from "assemblyscript/asc";
import binaryen from "binaryen";
import { basename, join, resolve } from "node:path";
import { existsSync } from "node:fs";
import { CompileError, UsageError } from "../errors.js";
import { instrument, optimizeUninstrumented, type InstrumentResult } from "../instrument/instrument.js";
import { planLayout, WASM_PAGE, type Layout } from "../memory/layout.js";
import { GUEST_LIB, ROOT } from "../paths.js";
import { GiB, MiB } from "../text/size.js";

import { DEFAULT_MAX_MEMORY, DEFAULT_PAGE_SIZE, type BuildOptions } from "./options.js";
export type { BuildOptions } from "./options.js";
/** frames of the largest kind the default Asyncify buffer holds */
export const DEFAULT_FRAMES = 1024;
const MIN_ASYNCIFY = 64 * 1024;
const MAX_ASYNCIFY = 8 * MiB;
// most guests fit, so most builds compile once
const FIRST_GUESS = 256 * 1024;

function checkOptions(o: BuildOptions): Required<Omit<BuildOptions, "asyncifyStack" | "stderr">> {
  const maxMemory = o.maxMemory ?? DEFAULT_MAX_MEMORY;
  const pageSize = o.pageSize ?? DEFAULT_PAGE_SIZE;
  if (maxMemory < 2 * WASM_PAGE || maxMemory > 4 * GiB - WASM_PAGE) {
    throw new UsageError(`--max-memory must be between 128K and 4G minus 64K (got ${maxMemory} bytes)`);
  }
  if (pageSize < 1024 || pageSize > WASM_PAGE || (pageSize & (pageSize - 1)) !== 0) {
    throw new UsageError(`--page-size must be a power of two from 1K to 64K (got ${pageSize})`);
  }
  return { maxMemory, pageSize };
}

/** Runs asc on `source` with the guest library and the migratable-module flags. */
export async function compileGuest(source: string, layout: Layout, stderr: NodeJS.WritableStream): Promise<Uint8Array> {
  let wasm: Uint8Array | undefined;
  // the fixed flags (docs/DESIGN.md section 3) live in asconfig.json, target "migratable"
  const argv = [
    source,
    "--config", join(ROOT, "asconfig.json"),
    "--target", "migratable",
    "--lib", GUEST_LIB,
    "--maximumMemory", String(layout.maxPages),
    "--memoryBase", String(layout.base),
    "--outFile", "guest.wasm",
  ];
  const { error } = await asc.main(argv, {
    stderr: stderr as never,
    stdout: stderr as never,
    writeFile(name: string, contents: Uint8Array | string) {
      if (name.endsWith(".wasm") && typeof contents !== "string") wasm = contents;
    },
  });
  if (error || !wasm) throw new CompileError(`asc could not compile ${basename(source)} (see its messages above)`);
  return wasm;
}

/** Builds a migratable module from an AssemblyScript guest. */
export async function build(source: string, options: BuildOptions = {}): Promise<InstrumentResult> {
  const { maxMemory, pageSize } = checkOptions(options);
  const file = resolve(source);
  if (!existsSync(file)) throw new UsageError(`${source}: no such file`);
  const stderr = options.stderr ?? process.stderr;
  let asyncBytes = options.asyncifyStack ?? FIRST_GUESS;
  for (;;) {
    const plan = planLayout(maxMemory, pageSize, asyncBytes);
    const result = instrument(await compileGuest(file, plan, stderr), plan);
    if (options.asyncifyStack !== undefined) return result;
    const wanted = Math.min(MAX_ASYNCIFY, Math.ceil((result.layout.maxFrameBytes * DEFAULT_FRAMES) / MIN_ASYNCIFY) * MIN_ASYNCIFY);
    if (wanted <= asyncBytes) return result;
    asyncBytes = wanted;
  }
}

/**
 * An uninstrumented build of the same source with the same flags and the same
 * final optimization: the baseline of the overhead benchmark.
 */
export async function buildPlain(source: string, options: BuildOptions = {}): Promise<{ wasm: Uint8Array; layout: Layout }> {
  const { maxMemory, pageSize } = checkOptions(options);
  const layout = planLayout(maxMemory, pageSize, options.asyncifyStack ?? MIN_ASYNCIFY);
  const wasm = optimizeUninstrumented(await compileGuest(resolve(source), layout, options.stderr ?? process.stderr));
  const m = binaryen.readBinary(wasm);
  layout.initialPages = m.getMemoryInfo().initial;
  m.dispose();
  return { wasm, layout };
}
