// `npm run demo`: the main job on one machine. Builds the example guests,
// starts a local demo cluster of two nodes (child processes, as if in two
// terminals), runs the counter guest on one of them through the other, shows
// ps and nodes, migrates a running counter live from A to B and back (its
// output goes on from the other node), and stops the cluster; then freezes a
// counter mid-run to a file
// and resumes it under another node name. Each step is the real `migrant`
// command, shown before it runs; node terminals are shown as "A | ...".

import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { EXAMPLES, ROOT } from "../paths.js";
import { BIN, spawnNode } from "../cluster/spawn.js";
const OUT = join(ROOT, "build");
const show = (s: string) => process.stdout.write(s + "\n");

async function migrant(...args: string[]): Promise<string> {
  show(`\n$ migrant ${args.map((a) => a.replace(ROOT + "/", "")).join(" ")}`);
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  child.stdout!.on("data", (d: Buffer) => {
    out += d.toString();
    process.stdout.write(d);
  });
  const code = await new Promise<number | null>((r) => child.once("close", r));
  if (code !== 0) {
    process.stderr.write(`demo: that command failed (exit code ${code})\n`);
    stopAll();
    process.exit(code ?? 1);
  }
  return out;
}

const nodes: ChildProcess[] = [];
function stopAll(): void {
  for (const n of nodes) n.kill("SIGINT");
}

async function startNode(name: string, ...args: string[]): Promise<string> {
  show(`\n$ migrant node --name ${name} --port 0 ${args.join(" ")}    # in its own terminal`);
  const n = spawnNode(name, args, (line) => show(`  ${name} | ${line}`));
  nodes.push(n.child);
  return n.url;
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

mkdirSync(OUT, { recursive: true });
for (const file of readdirSync(EXAMPLES)
  .filter((f) => f.endsWith(".ts"))
  .sort()) {
  await migrant("build", join(EXAMPLES, file), "-o", join(OUT, file.replace(/\.ts$/, ".wasm")));
}
const counter = join(OUT, "counter.wasm");

const a = await startNode("A");
await startNode("B", "--join", a);
await pause(700);
await migrant("nodes", "--node", a);
await migrant("run", counter, "5", "--node", a, "--on", "B");
const pid = (await migrant("run", counter, "0", "-d", "--node", a)).trim();
await pause(350);
await migrant("ps", "--node", a);
// live migration: the counter goes on counting, now on B, and back to A
await migrant("migrate", pid, "--to", "B", "--node", a);
await pause(350);
await migrant("migrate", pid, "--to", "A", "--strategy", "postcopy", "--node", a);
await pause(350);
await migrant("ps", "--node", a);
await migrant("kill", pid, "--node", a);
await pause(300);
show("\n(Ctrl-C on each node terminal:)");
stopAll();
await Promise.all(nodes.map((n) => new Promise((r) => n.once("exit", r))));

const snap = join(OUT, "counter.snap");
const before = await migrant("run", counter, "10", "--node-name", "A", "--checkpoint-after", "450", "--to", snap);
const after = await migrant("resume", snap, "--node-name", "B");
show("\n" + checkpointStory(counted(before), counted(after)));

/** The counter's lines, as [number, node]. */
function counted(out: string): Array<[number, string]> {
  return out.split("\n").flatMap((l) => {
    const m = /^(\d+) on (\S+)$/.exec(l);
    return m ? [[Number(m[1]), m[2]] as [number, string]] : [];
  });
}

/** What the checkpoint and the resume showed, said from their output. */
function checkpointStory(a: Array<[number, string]>, b: Array<[number, string]>): string {
  const all = [...a, ...b].map(([n]) => n);
  const whole = all.every((n, i) => n === i);
  const span = (xs: Array<[number, string]>) => (xs.length ? `${xs[0][0]}..${xs[xs.length - 1][0]}` : "nothing");
  return (
    `The counter ran ${span(a)} as ${a[0]?.[1] ?? "A"}, was frozen and written to a file, and went on with ${span(b)} as ${b[0]?.[1] ?? "B"}: ` +
    (whole ? "every number once, in order." : `numbers lost or repeated (${all.join(" ")}).`)
  );
}
