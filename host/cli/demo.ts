// `npm run demo`: builds the example guests, then runs the counter on "node A",
// checkpoints it mid-run to a file, and resumes it on "node B": its output
// carries on where it stopped, and node() changes. Each step is the real
// `migrant` command, shown before it runs.

import { spawnSync } from "node:child_process";
import { mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { EXAMPLES, ROOT } from "../paths.js";

const BIN = join(ROOT, "dist", "host", "cli", "bin.js");
const OUT = join(ROOT, "build");

function migrant(...args: string[]): void {
  process.stdout.write(`\n$ migrant ${args.map((a) => a.replace(ROOT + "/", "")).join(" ")}\n`);
  const r = spawnSync(process.execPath, [BIN, ...args], { stdio: "inherit" });
  if (r.status !== 0) {
    process.stderr.write(`demo: that command failed (exit code ${r.status})\n`);
    process.exit(r.status ?? 1);
  }
}

mkdirSync(OUT, { recursive: true });
for (const file of readdirSync(EXAMPLES).filter((f) => f.endsWith(".ts")).sort()) {
  migrant("build", join(EXAMPLES, file), "-o", join(OUT, file.replace(/\.ts$/, ".wasm")));
}
const snap = join(OUT, "counter.snap");
migrant("run", join(OUT, "counter.wasm"), "10", "--node-name", "A", "--checkpoint-after", "450", "--to", snap);
migrant("resume", snap, "--node-name", "B");
process.stdout.write("\nThe counter ran 0..4 on A, was frozen mid-sleep and written to a file, and went on from 5 on B.\n");
