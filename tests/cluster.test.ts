// The cluster, end to end: real node processes on 127.0.0.1 linked by real
// WebSockets, driven by the real `migrant` client commands.

import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import WebSocket from "ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { NodeInfo, ProcInfo } from "../host/cluster/views.js";
import { encode } from "../host/net/protocol.js";
import { prove, nonce } from "../host/net/auth.js";
import { decode } from "../host/net/protocol.js";
import { EXAMPLE_GUESTS, TRAPS, guestBytes } from "./guests.js";
import { eventually, lines, migrant, startNode, type RunningNode } from "./processes.js";

const dir = mkdtempSync(join(tmpdir(), "migrant-cluster-"));
const secretFile = join(dir, "secret");
const wrongFile = join(dir, "wrong");
writeFileSync(secretFile, "correct horse battery staple\n");
writeFileSync(wrongFile, "not the secret\n");
const SECRET = { MIGRANT_SECRET_FILE: secretFile };
const HEARTBEAT = ["--heartbeat", "200"];

let A: RunningNode, B: RunningNode, C: RunningNode;
let counterWasm: string, trapsWasm: string;
const started: RunningNode[] = [];

async function node(name: string, args: string[]): Promise<RunningNode> {
  const n = await startNode(name, [...HEARTBEAT, ...args], SECRET);
  started.push(n);
  return n;
}

const at = (n: RunningNode) => ({ ...SECRET, MIGRANT_NODE: n.url });

async function psOf(n: RunningNode): Promise<ProcInfo[]> {
  const r = await migrant(["ps", "--json"], at(n));
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
}

async function nodesOf(n: RunningNode): Promise<NodeInfo[]> {
  const r = await migrant(["nodes", "--json"], at(n));
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
}

beforeAll(async () => {
  counterWasm = join(dir, "counter.wasm");
  writeFileSync(counterWasm, await guestBytes(EXAMPLE_GUESTS.find((g) => g.name === "counter")!));
  trapsWasm = join(dir, "traps.wasm");
  writeFileSync(trapsWasm, await guestBytes(TRAPS));
  A = await node("A", ["--max-frame", "1M"]);
  B = await node("B", ["--join", A.url]);
  C = await node("C", ["--join", B.url]);
  await eventually(async () => ((await nodesOf(A)).filter((n) => n.state === "up").length === 3 ? true : undefined), 8000, "3 nodes up");
});

afterAll(async () => {
  for (const n of started) n.child.kill("SIGKILL");
});

describe("membership", () => {
  it("every node knows every node, joined through any member, with its address", async () => {
    for (const n of [A, B, C]) {
      const list = await eventually(async () => {
        const l = await nodesOf(n);
        return l.filter((x) => x.state === "up").length === 3 ? l : undefined;
      });
      expect(list.map((x) => [x.name, x.url]).sort()).toEqual([
        ["A", A.url],
        ["B", B.url],
        ["C", C.url],
      ]);
    }
  });
});

describe("running guests on nodes", () => {
  it("runs attached like docker run: streams stdout, exits with the guest's code", async () => {
    const r = await migrant(["run", counterWasm, "3"], at(A));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe("0 on A\n1 on A\n2 on A\n");
    const seven = await migrant(["run", trapsWasm, "exit"], at(A));
    expect(seven.code).toBe(7);
    const trap = await migrant(["run", trapsWasm, "unreachable", "--on", "B"], at(A));
    expect(trap.code).toBe(1);
    expect(trap.stderr).toMatch(/B\.\d+ ended: trap: unreachable/);
  });

  it("runs on a named node with --on, sending the module once and caching it there", async () => {
    const first = await migrant(["run", counterWasm, "2", "--on", "C"], at(A));
    expect(first.stdout).toBe("0 on C\n1 on C\n");
    const second = await migrant(["run", counterWasm, "1", "--on", "C"], at(B));
    expect(second.stdout).toBe("0 on C\n");
    expect(C.output.filter((l) => /module counter\.wasm received/.test(l)).length).toBe(1);
  });

  it("-d prints the pid; ps shows the truth; attach streams to the exit; kill ends", async () => {
    const r = await migrant(["run", counterWasm, "12", "-d", "--on", "B"], at(A));
    expect(r.code).toBe(0);
    const pid = r.stdout.trim();
    expect(pid).toMatch(/^B\.\d+$/);
    const seen = await eventually(async () => (await psOf(C)).find((p) => p.pid === pid && p.memory > 0));
    expect(seen).toMatchObject({ node: "B", state: "running", module: "counter.wasm", args: ["12"], migrations: 0 });

    const att = await migrant(["attach", pid], at(C));
    expect(att.code).toBe(0);
    const got = lines(att.stdout);
    expect(got.length).toBeGreaterThan(0);
    expect(got[got.length - 1]).toBe("11 on B");
    const n = got.map((l) => Number(l.split(" ")[0]));
    expect(n).toEqual(n.map((_, i) => n[0] + i)); // consecutive, none lost or repeated
    expect((await psOf(A)).find((p) => p.pid === pid)).toMatchObject({ state: "exited", code: 0 });

    const forever = (await migrant(["run", counterWasm, "0", "-d", "--on", "C"], at(A))).stdout.trim();
    const k = await migrant(["kill", forever], at(A));
    expect(k.code, k.stderr).toBe(0);
    const killed = await eventually(async () => (await psOf(B)).find((p) => p.pid === forever && p.state === "killed"));
    expect(killed.node).toBe("C");
    const again = await migrant(["kill", forever], at(A));
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/not running/);
  });

  it("ps reads its writes: a process is listed through any node the moment run -d returns", async () => {
    // heartbeats 10 s apart: what ps shows cannot come from them
    const P = await startNode("P", ["--heartbeat", "10000"], SECRET);
    const Q = await startNode("Q", ["--heartbeat", "10000", "--join", P.url], SECRET);
    started.push(P, Q);
    for (const [on, via] of [
      ["Q", P],
      ["P", Q],
      ["Q", Q],
    ] as const) {
      const r = await migrant(["run", counterWasm, "30", "-d", "--on", on], at(P));
      expect(r.code, r.stderr).toBe(0);
      const pid = r.stdout.trim();
      const listed = (await psOf(via)).find((p) => p.pid === pid);
      expect(listed, `${pid} through ${via.name}`).toMatchObject({ node: on, state: "running", module: "counter.wasm", args: ["30"] });
    }
    P.child.kill("SIGKILL");
    Q.child.kill("SIGKILL");
  });

  it("says which pid does not exist", async () => {
    const r = await migrant(["attach", "Z.99"], at(A));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no process Z\.99/);
  });
});

describe("limits", () => {
  it("refuses a process over --max-procs and over --max-memory, with a message", async () => {
    const D = await node("D", ["--join", A.url, "--max-procs", "1", "--max-memory", "1536M"]);
    const one = await migrant(["run", counterWasm, "0", "-d"], at(D));
    expect(one.code, one.stderr).toBe(0);
    const two = await migrant(["run", counterWasm, "1"], at(D));
    expect(two.code).toBe(2);
    expect(two.stderr).toMatch(/node D is full.*--max-procs/);
    D.child.kill("SIGKILL");
    const E = await node("E", ["--join", A.url, "--max-memory", "1536M"]);
    expect((await migrant(["run", counterWasm, "0", "-d"], at(E))).code).toBe(0);
    const big = await migrant(["run", counterWasm, "1"], at(E));
    expect(big.code).toBe(2);
    expect(big.stderr).toMatch(/node E cannot take a guest of up to 1 GiB.*--max-memory/);
    E.child.kill("SIGKILL");
  });
});

describe("failures", () => {
  it("a node killed with SIGKILL is marked down within the heartbeat timeout, its processes lost", async () => {
    const F = await node("F", ["--join", C.url]);
    await eventually(async () => ((await nodesOf(A)).find((n) => n.name === "F" && n.state === "up") ? true : undefined));
    const pid = (await migrant(["run", counterWasm, "0", "-d"], at(F))).stdout.trim();
    await eventually(async () => (await psOf(A)).find((p) => p.pid === pid && p.state === "running"));
    F.child.kill("SIGKILL");
    const t0 = performance.now();
    const down = await eventually(async () => (await nodesOf(A)).find((n) => n.name === "F" && n.state === "down"), 5000, "F down");
    expect(performance.now() - t0).toBeLessThan(6 * 200 + 2000);
    expect(down.state).toBe("down");
    expect((await psOf(B)).find((p) => p.pid === pid)?.state).toBe("lost");
    await A.waitFor(/node F is down.*processes are lost: F\.1/);
    const att = await migrant(["attach", pid], at(A));
    expect(att.code).toBe(2);
    expect(att.stderr).toMatch(/lost with node F/);
  });

  it("refuses a client and a node with the wrong secret, on both sides", async () => {
    const r = await migrant(["ps"], { MIGRANT_NODE: A.url, MIGRANT_SECRET_FILE: wrongFile });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/node A at .* refused us: wrong cluster secret/);
    await A.waitFor(/refused a connection: wrong cluster secret/);
    const n = await startNode("G", ["--join", A.url], { MIGRANT_SECRET_FILE: wrongFile }).catch((e: Error) => e);
    expect(n).toBeInstanceOf(Error);
    expect((n as Error).message).toMatch(/refused us: wrong cluster secret/);
  });

  it("random bytes, a lying length, a text frame and an oversized frame each close only that link", async () => {
    const pid = (await migrant(["run", counterWasm, "0", "-d"], at(A))).stdout.trim();
    const attempts: Array<(ws: WebSocket) => void> = [
      (ws) => ws.send(Buffer.from([7, 1, 2, 3, 4, 5, 6, 7, 8, 9])),
      (ws) => {
        const f = encode({ t: "psRequest", req: 1 });
        f.writeUInt32LE(9999, 2);
        ws.send(f);
      },
      (ws) => ws.send("hello, text"),
      (ws) => ws.send(Buffer.alloc(2 * 1024 * 1024)),
    ];
    for (const attempt of attempts) {
      const ws = new WebSocket(A.url);
      const inbox: Buffer[] = [];
      let wake: (() => void) | null = null;
      ws.on("message", (d) => {
        inbox.push(d as Buffer);
        wake?.();
      });
      const closed = new Promise<number>((r) => ws.on("close", (code) => r(code)));
      ws.on("error", () => undefined);
      const nextFrame = async () => {
        for (let i = 0; i < 50 && inbox.length === 0; i++) await new Promise<void>((r) => ((wake = r), setTimeout(r, 100)));
        const d = inbox.shift();
        if (!d) throw new Error("no frame from the node within 5 s");
        return decode(d);
      };
      // authenticate properly first, so that the bad frame reaches the protocol
      const challenge = await nextFrame();
      if (challenge.t !== "challenge") throw new Error("expected a challenge");
      const secret = Buffer.from("correct horse battery staple");
      ws.send(encode({ t: "auth", role: "client", name: "prober", proof: prove(secret, challenge.nonce, "client"), nonce: nonce() }));
      expect((await nextFrame()).t).toBe("welcome");
      attempt(ws);
      const code = await Promise.race([closed, new Promise<number>((r) => setTimeout(() => r(-1), 5000))]);
      expect([1002, 1009, 1007]).toContain(code);
    }
    // the node and its processes carry on
    const still = await psOf(A);
    expect(still.find((p) => p.pid === pid)?.state).toBe("running");
    expect((await migrant(["run", counterWasm, "1"], at(A))).stdout).toBe("0 on A\n");
    expect(A.output.filter((l) => /closed that link/.test(l)).length).toBeGreaterThanOrEqual(3);
  });

  it("Ctrl-C stops a node cleanly: it says which processes die with it, the others see it leave", async () => {
    const H = await node("H", ["--join", A.url]);
    const pid = (await migrant(["run", counterWasm, "0", "-d"], at(H))).stdout.trim();
    await eventually(async () => (await nodesOf(A)).find((n) => n.name === "H" && n.state === "up"));
    H.child.kill("SIGINT");
    expect(await H.exited).toBe(0);
    expect(H.output.join("\n")).toMatch(new RegExp(`these processes die with this node: ${pid.replace(".", "\\.")}`));
    const left = await eventually(async () => (await nodesOf(A)).find((n) => n.name === "H" && n.state === "left"));
    expect(left.reason).toMatch(/Ctrl-C/);
  });
});
