// `migrant run prog.ts` builds first; builds are cached by content so that a
// second run starts at once. The key covers the guest file, the guest library,
// the build options and the versions of migrant and asc. (A guest split over
// several files is keyed by its entry file only: pass a .wasm, or touch the
// entry file, after editing the others.)

import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { BuildOptions } from "./options.js";
import { GUEST_LIB, ROOT } from "../paths.js";
import { UsageError } from "../errors.js";

const CACHE = process.env.MIGRANT_CACHE ?? join(tmpdir(), "migrant-build-cache");

export async function buildCached(source: string, options: BuildOptions, log: (s: string) => void): Promise<Uint8Array> {
  let text: Buffer;
  try {
    text = readFileSync(resolve(source));
  } catch {
    throw new UsageError(`${source}: no such file`);
  }
  const key = createHash("sha256")
    .update(text)
    .update(readFileSync(join(GUEST_LIB, "migrant.ts")))
    .update(JSON.stringify({ ...options, stderr: undefined }))
    .update(readFileSync(join(ROOT, "package.json")))
    .digest("hex")
    .slice(0, 32);
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
