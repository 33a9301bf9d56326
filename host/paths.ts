// Where the package's own files are, whether running from host/*.ts (tests)
// or from the compiled dist/host/*.js.

import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, "package.json")) && existsSync(join(dir, "assembly"))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error("migrant: cannot find the package root (package.json next to assembly/)");
    dir = up;
  }
}

export const ROOT = findRoot();
/** The folder that holds the guest library as migrant.ts (asc --lib). */
export const GUEST_LIB = join(ROOT, "assembly", "lib");
export const EXAMPLES = join(ROOT, "assembly", "examples");
/** The compiled worker script (workers load JavaScript). */
export const WORKER_SCRIPT = join(ROOT, "dist", "host", "worker", "guest-worker.js");
/** The compiled metronome thread (worker/metronome-thread.ts). */
export const METRONOME_SCRIPT = join(ROOT, "dist", "host", "worker", "metronome-thread.js");
