// A node that keeps its footing: membership that heals after a node stood
// still (SIGSTOP) and a node that stops within its bound even when a peer does
// not answer; output that a slow reader holds back (the guest waits, no line
// lost) and a reader that reads nothing dropped with a way back. Real node
// processes on 127.0.0.1, real guests.

import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { NodeInfo, ProcInfo } from "../host/cluster/views.js";
import { EXAMPLE_GUESTS, FLOOD, WORKLOADS, guestBytes } from "./guests.js";
import { background, eventually, migrant, rssOf, startNode, type RunningNode } from "./processes.js";

const dir = mkdtempSync(join(tmpdir(), "migrant-resilience-"));
const HEARTBEAT = ["--heartbeat", "200"];
let counterWasm: string, floodWasm: string, idleWasm: string;
const started: RunningNode[] = [];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function node(name: string, args: string[] = []): Promise<RunningNode> {
  const n = await startNode(name, [...HEARTBEAT, ...args]);
  started.push(n);
  return n;
}
const at = (n: RunningNode) => ({ MIGRANT_NODE: n.url });

async function json<T>(n: RunningNode, args: string[]): Promise<T> {
  const r = await migrant([...args, "--json"], at(n));
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as T;
}
const nodesOf = (n: RunningNode) => json<NodeInfo[]>(n, ["nodes"]);
const psOf = (n: RunningNode) => json<ProcInfo[]>(n, ["ps"]);
const stateOf = (list: NodeInfo[], name: string) => list.find((x) => x.name === name)?.state;

/** The numbered flood lines, checked whole and in order. */
function expectFlood(out: string[], count: number, pad: string): void {
  const flood = out.filter((l) => l.startsWith("flood "));
  expect(flood.length).toBe(count + 1);
  for (let i = 0; i < count; i++) if (flood[i] !== `flood ${i + 1}${pad}`) expect(flood[i]).toBe(`flood ${i + 1}${pad}`);
  expect(flood[count]).toBe("flood done");
}

beforeAll(async () => {
  counterWasm = join(dir, "counter.wasm");
  writeFileSync(counterWasm, await guestBytes(EXAMPLE_GUESTS.find((g) => g.name === "counter")!));
  idleWasm = join(dir, "idle.wasm");
  writeFileSync(idleWasm, await guestBytes(WORKLOADS.find((g) => g.name === "idle")!));
  floodWasm = join(dir, "flood.wasm");
  writeFileSync(floodWasm, await guestBytes(FLOOD));
});

afterAll(() => {
  for (const n of started) {
    n.child.kill("SIGCONT");
    n.child.kill("SIGKILL");
  }
});

describe("membership that heals", () => {
  it("a node stopped for 8 s (SIGSTOP) is up again on both sides within seconds, its process running, never left lost", async () => {
    const A = await node("A");
    const B = await node("B", ["--join", A.url]);
    const run = await migrant(["run", counterWasm, "0", "--detach"], at(A));
    expect(run.code, run.stderr).toBe(0);
    await A.waitFor(/\[A\.1\] 3 on A/);
    A.child.kill("SIGSTOP");
    await B.waitFor(/node A is down/, 5000);
    expect((await psOf(B)).find((p) => p.pid === "A.1")?.state).toBe("lost");
    await sleep(8000 - 1500);
    A.child.kill("SIGCONT");
    await A.waitFor(/this node did not run for \d+\.\d s/, 5000);
    await B.waitFor(/node A is up again \(heard from after \d+\.\d s\); its processes run on: A\.1/, 5000);
    // both sides see each other up, and the process as running
    await eventually(async () => (stateOf(await nodesOf(B), "A") === "up" ? true : undefined), 5000, "B sees A up");
    expect(stateOf(await nodesOf(A), "B")).toBe("up");
    expect(A.output.some((l) => /node B is down/.test(l))).toBe(false);
    await eventually(
      async () => ((await psOf(B)).find((p) => p.pid === "A.1")?.state === "running" ? true : undefined),
      5000,
      "A.1 running",
    );
    // it runs on, and the cluster serves it: it moves to B and counts on there
    const seen = A.output.filter((l) => l.startsWith("[A.1]")).length;
    const moved = await migrant(["migrate", "A.1", "--to", "B"], at(A));
    expect(moved.code, moved.stderr).toBe(0);
    const line = await B.waitFor(/\[A\.1\] \d+ on B/);
    expect(Number(/(\d+) on B/.exec(line)![1])).toBeGreaterThanOrEqual(seen);
    expect((await nodesOf(A)).every((n) => typeof n.loopMs === "number")).toBe(true);
    await migrant(["kill", "A.1"], at(B));
    A.child.kill("SIGKILL");
    B.child.kill("SIGKILL");
  }, 60_000);

  it("nodes shows a 64 MiB guest's load and memory, asked on its node and on a peer", async () => {
    const A = await node("A");
    const B = await node("B", ["--join", A.url]);
    const run = await migrant(["run", idleWasm, "64", "100", "--detach"], at(A));
    expect(run.code, run.stderr).toBe(0);
    await eventually(
      async () => {
        const views = [await nodesOf(A), await nodesOf(B)].map((l) => l.find((n) => n.name === "A")!);
        return views.every((v) => v.load === 1 && v.memory >= 64 * 1024 * 1024) ? true : undefined;
      },
      5000,
      "A's load and memory seen from A and B",
    );
    A.child.kill("SIGKILL");
    B.child.kill("SIGKILL");
  }, 30_000);

  it("a node told to stop ends within its bound while a member it links to does not answer", async () => {
    const A = await node("A");
    const B = await node("B", ["--join", A.url]);
    await eventually(async () => (stateOf(await nodesOf(A), "B") === "up" ? true : undefined), 5000, "B up");
    B.child.kill("SIGSTOP");
    await A.waitFor(/node B is down/, 5000);
    const t0 = performance.now();
    A.child.kill("SIGTERM");
    const code = await Promise.race([A.exited, sleep(9000).then(() => "still running")]);
    expect(code).toBe(0);
    expect(performance.now() - t0).toBeLessThan(9000);
    B.child.kill("SIGCONT");
    B.child.kill("SIGKILL");
  }, 30_000);
});

describe("output backpressure", () => {
  const WIDTH = 200;
  const pad = " " + ".".repeat(WIDTH);
  const printedBy = (n: RunningNode) => n.output.filter((l) => l.startsWith("[A.1] flood ")).length;

  /** The node's count of printed lines, once it has stopped growing (the guest waits), or null if it never stalls. */
  async function stalled(n: RunningNode): Promise<number | null> {
    let last = -1;
    for (let i = 0; i < 10; i++) {
      await sleep(700);
      const now = printedBy(n);
      if (now === last) return now;
      last = now;
    }
    return null;
  }

  it("a reader that blocks for 10 s pauses the guest: every line arrives, in order, and the peer never marks the node down", async () => {
    const A = await node("A");
    const B = await node("B", ["--join", A.url]);
    await eventually(async () => (stateOf(await nodesOf(B), "A") === "up" ? true : undefined), 5000, "A up");
    const before = rssOf(A.child.pid!);
    const COUNT = 120_000; // 24 MB of lines: more than the sockets and pipes between node and terminal hold
    const t0 = performance.now();
    const client = background(["run", floodWasm, String(COUNT), "0", String(WIDTH)], at(A));
    await client.firstLine;
    client.child.stdout!.pause(); // the terminal stops reading
    const held = await stalled(A);
    expect(held).not.toBeNull();
    expect(held!).toBeLessThan(COUNT);
    await sleep(10_000 - (performance.now() - t0));
    expect(printedBy(A)).toBe(held); // still waiting for its reader
    const rss = rssOf(A.child.pid!);
    client.child.stdout!.resume();
    const r = await client.done;
    expect(r.code, r.stderr).toBe(0);
    expectFlood(client.out, COUNT, pad);
    expect(B.output.some((l) => /node A is down/.test(l))).toBe(false);
    expect(rss - before).toBeLessThan(150 * 1024 * 1024);
    A.child.kill("SIGKILL");
    B.child.kill("SIGKILL");
  }, 90_000);

  it("a node whose own terminal does not read holds its guest back too: it serves meanwhile, and its log has every line", async () => {
    const A = await node("A");
    const before = rssOf(A.child.pid!);
    const COUNT = 60_000;
    const run = await migrant(["run", floodWasm, String(COUNT), "0", String(WIDTH), "--detach"], at(A));
    expect(run.code, run.stderr).toBe(0);
    await A.waitFor(/\[A\.1\] flood 1 /);
    A.child.stdout!.pause(); // the node's terminal stops reading
    await sleep(3000);
    const rss = rssOf(A.child.pid!);
    // the node still answers while its guest waits
    expect((await psOf(A)).find((p) => p.pid === "A.1")?.state).toBe("running");
    A.child.stdout!.resume();
    await A.waitFor(/process A\.1 exited with code 0/, 30_000);
    expectFlood(
      A.output.filter((l) => l.startsWith("[A.1] ")).map((l) => l.slice(6)),
      COUNT,
      pad,
    );
    expect(rss - before).toBeLessThan(100 * 1024 * 1024);
    A.child.kill("SIGKILL");
  }, 60_000);

  it("a reader that reads nothing is dropped after --reader-timeout, told how to take up again, and can attach from the ring", async () => {
    const A = await node("A", ["--reader-timeout", "1500"]);
    const COUNT = 120_000;
    const client = background(["run", floodWasm, String(COUNT), "8000", String(WIDTH)], at(A));
    await client.firstLine;
    client.child.stdout!.pause();
    await A.waitFor(/dropped client client-\d+: it read none of A\.1's output for 2 s/, 20_000);
    // without that reader the guest runs to its end
    await A.waitFor(/\[A\.1\] flood done/, 30_000);
    client.child.stdout!.resume();
    const r = await client.done;
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /the node dropped this client: it did not read A\.1's output for too long; `migrant attach A\.1 --from \d+` takes it up again/,
    );
    // what it had read is whole, up to the line it is told to take up again from
    const from = Number(/--from (\d+)/.exec(r.stderr)![1]);
    const read = client.out.filter((l) => l.startsWith("flood "));
    expect(read.length).toBe(from - 1);
    read.forEach((l, i) => l !== `flood ${i + 1}${pad}` && expect(l).toBe(`flood ${i + 1}${pad}`));
    // it takes up again from there: what the node still keeps, and a note of what it no longer does
    const again = await migrant(["attach", "A.1", "--from", String(from)], at(A));
    expect(again.code, again.stderr).toBe(0);
    const gap = /lines (\d+)-(\d+) of A\.1 are no longer kept by its node \(it keeps the last 1000\); going on from line (\d+)/.exec(
      again.stderr,
    );
    const first = gap ? Number(gap[3]) : from;
    if (gap) expect([Number(gap[1]), Number(gap[2]) + 1]).toEqual([from, first]);
    const lines = again.stdout.split("\n").filter(Boolean);
    expect(lines.length).toBe(COUNT + 2 - first);
    lines.slice(0, -1).forEach((l, i) => l !== `flood ${first + i}${pad}` && expect(l).toBe(`flood ${first + i}${pad}`));
    expect(lines.at(-1)).toBe("flood done");
    A.child.kill("SIGKILL");
  }, 90_000);
});
