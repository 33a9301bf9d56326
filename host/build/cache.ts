// `migrant run prog.ts` builds first; builds are cached by content so that a
// second run starts at once. The key covers the guest file, the guest library,
// the build options, asconfig.json, the toolchain's own code (build/, instrument/,
// memory/) and the installed versions (package-lock.json). (A guest split over
// several files is keyed by its entry file only: pass a .wasm, or touch the
// entry file, after editing the others.)

import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { BuildOptions } from "./options.js";
import { GUEST_LIB, ROOT } from "../paths.js";
import { UsageError } from "../errors.js";

const CACHE = process.env.MIGRANT_CACHE ?? join(tmpdir(), "migrant-build-cache");
const HERE = dirname(fileURLToPath(import.meta.url));

/** The files whose change must invalidate every cached build. */
function toolchainFiles(): string[] {
  const code = (dir: string) =>
    readdirSync(dir)
      .filter((f) => /\.(js|ts)$/.test(f) && !f.endsWith(".d.ts"))
      .sort()
      .map((f) => join(dir, f));
  return [
    join(GUEST_LIB, "migrant.ts"),
    join(ROOT, "asconfig.json"),
    join(ROOT, "package-lock.json"),
    ...code(HERE),
    ...code(join(HERE, "..", "instrument")),
    ...code(join(HERE, "..", "memory")),
  ].filter((f) => existsSync(f));
}

export async function buildCached(source: string, options: BuildOptions, log: (s: string) => void): Promise<Uint8Array> {
  let text: Buffer;
  try {
    text = readFileSync(resolve(source));
  } catch {
    throw new UsageError(`${source}: no such file`);
  }
  const hash = createHash("sha256").update(text).update(JSON.stringify({ ...options, stderr: undefined }));
  for (const f of toolchainFiles()) hash.update(readFileSync(f));
  const key = hash.digest("hex").slice(0, 32);
  const file = join(CACHE, `${key}.wasm`);
  if (existsSync(file)) return readFileSync(file);
  log(`building ${source} ...`);
  const { build } = await import("./build.js");
  const { wasm } = await build(source, options);
  mkdirSync(CACHE, { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, wasm);
  renameSync(tmp, file);
  return wasm;
}
