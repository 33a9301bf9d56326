// Messages between processes when things go wrong, on real nodes: each
// forwarding mechanism's known weakness (its origin down, a node of its chain
// down, a link holder unreachable during an update), a full mailbox, two
// nodes of different modes, a name claimed by several processes at once, and
// the client commands (send, ps, nodes).

import { afterEach, describe, expect, it } from "vitest";
import { RELAY, TALKING_GUESTS } from "./guests.js";
import { migrant } from "./processes.js";
import { TalkingCluster, sleep, type Job } from "./talking-cluster.js";

const STREAM = TALKING_GUESTS.find((g) => g.name === "stream")!;
const KV = TALKING_GUESTS.find((g) => g.name === "kv")!;
const PING_PONG = TALKING_GUESTS.find((g) => g.name === "ping-pong")!;
let c: TalkingCluster | null = null;
afterEach(() => c?.stop());

const text = (s: string) => new TextEncoder().encode(s);
/** Makes relay `r` send TEXT to `to` (through node `via`), and waits for its line about it. */
async function relaySend(r: Job, to: string, word: string, via: string): Promise<string> {
  await c!.via(via).send(r.pid, text(`send ${to} ${word}`));
  return r.line(new RegExp(`^${to.replace(".", "\\.")} ${word}: `), 30_000);
}
/** Waits until node `via` lists `name` as down. */
async function untilDown(name: string, via: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if ((await c!.via(via).nodes()).find((n) => n.name === name)?.state !== "up") return;
    await sleep(100);
  }
  throw new Error(`node ${name} still up at ${via}`);
}
async function relay(name: string, on: string): Promise<Job> {
  const r = await c!.run(RELAY, [name], on);
  await r.line(/ready/);
  return r;
}

describe("forwarding's weaknesses", () => {
  it("origin: while the origin is down no message reaches its processes (a clear error after the bound); once it is back, they do", async () => {
    c = await TalkingCluster.start(["A", "B", "C"], ["--heartbeat", "200", "--forwarding", "origin", "--deliver-timeout", "3000"]);
    const target = await relay("t", "A");
    expect((await c.migrate(target.pid, "B", "precopy")).result).toBe("completed");
    const r = await relay("r", "C");
    expect(await relaySend(r, target.pid, "one", "C")).toBe(`${target.pid} one: true`);
    c.nodes.get("A")!.child.kill("SIGKILL");
    await untilDown("A", "C");
    expect(await relaySend(r, target.pid, "two", "C")).toBe(`${target.pid} two: false`);
    const log = await c.nodes.get("C")!.waitFor(/not delivered after/);
    expect(log).toContain(`to ${target.pid}`);
    expect(log).toMatch(/node A cannot be reached/);
    await c.add("A");
    expect(await relaySend(r, target.pid, "three", "C")).toBe(`${target.pid} three: true`);
    await target.line(/got three/);
    expect(target.lines.slice(1)).toEqual([`got one from ${r.pid}`, `got three from ${r.pid}`]);
  });

  it("traversal: a stalled node in the chain delays a message until it runs again; a dead one gives a clear error after the bound", async () => {
    c = await TalkingCluster.start(["A", "B", "C", "D"], ["--heartbeat", "500", "--forwarding", "traversal", "--deliver-timeout", "3000"]);
    const r = await relay("r", "D");
    const chained = async (name: string) => {
      const t = await relay(name, "A");
      for (const to of ["B", "C"]) expect((await c!.migrate(t.pid, to, "freeze")).result).toBe("completed");
      return t;
    };
    const t1 = await chained("t1");
    const t2 = await chained("t2");
    // B stalls (shorter than it takes to be marked down): the message waits in the chain A -> B -> C
    const B = c.nodes.get("B")!.child;
    B.kill("SIGSTOP");
    const one = relaySend(r, t1.pid, "one", "D");
    await sleep(1200);
    expect(r.lines.some((l) => l.includes("one:"))).toBe(false);
    B.kill("SIGCONT");
    expect(await one).toBe(`${t1.pid} one: true`);
    await t1.line(/got one/);
    // B dies: the chain to t2 is broken at A
    B.kill("SIGKILL");
    await untilDown("B", "A");
    expect(await relaySend(r, t2.pid, "two", "D")).toBe(`${t2.pid} two: false`);
    const log = await c.nodes.get("D")!.waitFor(/not delivered after/);
    expect(log).toContain(`to ${t2.pid}`);
    expect(log).toMatch(/node B, on the way to .*, cannot be reached/);
    expect(t2.lines.slice(1)).toEqual([]);
  });

  it("update: a link holder that cannot be reached is waited for only up to the bound, then finds the process as in resend", async () => {
    c = await TalkingCluster.start(["A", "B", "C"], ["--heartbeat", "500", "--forwarding", "update", "--update-wait", "400"]);
    const target = await relay("t", "A");
    const r = await relay("r", "C");
    expect(await relaySend(r, target.pid, "one", "C")).toBe(`${target.pid} one: true`); // C holds a link to it now
    const C = c.nodes.get("C")!.child;
    C.kill("SIGSTOP");
    const moved = await c.migrate(target.pid, "B", "precopy", "A");
    C.kill("SIGCONT");
    expect(moved.result, moved.error ?? "").toBe("completed");
    expect(await c.nodes.get("A")!.waitFor(/link update of .*C did not acknowledge within 400 ms/)).toContain(target.pid);
    // its update reached C late (the link stayed open): C's next message goes straight there
    expect(await relaySend(r, target.pid, "two", "C")).toBe(`${target.pid} two: true`);
    await target.line(/got two/);
    // a holder that missed the update for good (restarted: it knows nothing) is returned by A and locates it
    c.nodes.get("C")!.child.kill("SIGKILL");
    await untilDown("C", "A");
    await c.add("C");
    const r2 = await relay("r2", "C");
    expect(r2.pid).not.toBe(r.pid); // a restarted node never hands out a pid again (the target remembers what it took from r)
    expect(await relaySend(r2, target.pid, "three", "C")).toBe(`${target.pid} three: true`);
    await target.line(/got three/);
    expect(target.lines.slice(1)).toEqual([`got one from ${r.pid}`, `got two from ${r.pid}`, `got three from ${r2.pid}`]);
    const a = (await c.via("A").nodes()).find((n) => n.name === "A")!.mail!;
    expect(a.returned).toBeGreaterThanOrEqual(1);
  });
});

describe("flow control", () => {
  it("a full mailbox makes the sender wait; moved while it waits, nothing is lost or repeated", async () => {
    c = await TalkingCluster.start(["A", "B"], ["--heartbeat", "200", "--mailbox", "4"]);
    const n = 80;
    const consumer = await c.run(STREAM, ["consume", "slow", String(n), "0", "15"], "A");
    const producer = await c.run(STREAM, ["produce", "slow", String(n)], "B");
    let deepest = 0;
    for (let i = 0; i < 30 && deepest < 4; i++) {
      const me = (await c.ps()).find((p) => p.pid === consumer.pid);
      deepest = Math.max(deepest, me?.mailbox ?? 0);
      await sleep(50);
    }
    expect(deepest).toBe(4); // full, and never over
    expect(producer.lines).toEqual([]); // still waiting to send
    expect((await c.migrate(producer.pid, "A", "postcopy")).result).toBe("completed");
    expect((await c.migrate(consumer.pid, "B", "precopy")).result).toBe("completed");
    await Promise.all([consumer.ended, producer.ended]);
    expect(consumer.lines).toEqual([`consumer: ${n} messages, each once, in order`]);
    expect(producer.lines).toEqual([`producer: ${n} sent`]);
    for (const p of await c.ps()) expect(p.mailbox).toBeLessThanOrEqual(4);
  });
});

describe("the examples", () => {
  it("a key-value server answers its clients on other nodes, every answer right, while it and they move", async () => {
    c = await TalkingCluster.start(["A", "B", "C"], ["--heartbeat", "200"]);
    const server = await c.run(KV, ["server", "2"], "A");
    const clients = [await c.run(KV, ["client", "1", "1000"], "B"), await c.run(KV, ["client", "2", "1000"], "C")];
    const moves = [
      [server.pid, "B", "precopy"],
      [clients[0].pid, "C", "postcopy"],
      [server.pid, "C", "hybrid"],
      [clients[1].pid, "A", "freeze"],
    ] as const;
    let moved = 0;
    for (const [pid, to, strategy] of moves) {
      if ((await c.migrate(pid, to, strategy)).result === "completed") moved++;
      await sleep(30);
    }
    await Promise.all([server, ...clients].map((j) => j.ended));
    expect(clients.map((j) => j.lines)).toEqual([
      ["kv client 1: 1000 puts and 1000 gets, every answer right"],
      ["kv client 2: 1000 puts and 1000 gets, every answer right"],
    ]);
    expect(server.lines).toEqual(["kv server: 4002 requests from 2 clients, 2000 keys"]);
    expect(moved).toBeGreaterThanOrEqual(2);
  });

  it("ping-pong: the pair finds each other by name and keeps playing while pong moves", async () => {
    c = await TalkingCluster.start(["A", "B"], ["--heartbeat", "200", "--forwarding", "origin"]);
    const pong = await c.run(PING_PONG, ["pong"], "A");
    const ping = await c.run(PING_PONG, ["ping", "2000"], "B");
    await ping.line(/^ping 50:/);
    expect((await c.migrate(pong.pid, "B", "postcopy")).result).toBe("completed");
    await Promise.all([ping.ended, pong.ended]);
    expect(ping.lines).toEqual([...Array.from({ length: 2000 }, (_, i) => `ping ${i + 1}: pong ${i + 1}`), "ping: 2000 round trips"]);
    expect(pong.lines).toEqual(["pong: stopped after 2000 pings"]);
  });
});

describe("the cluster", () => {
  it("refuses a node that forwards by another mode, saying why", async () => {
    c = await TalkingCluster.start(["A"], ["--forwarding", "origin"]);
    const r = await migrant(["node", "--name", "B", "--port", "0", "--forwarding", "traversal", "--join", c.nodes.get("A")!.url]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /node B forwards messages by traversal, but this cluster forwards by origin: start it with --forwarding origin/,
    );
    expect((await c.client.nodes()).map((x) => x.name)).toEqual(["A"]);
  });

  it("gives a name to one of several processes claiming it at once, and frees it when that one ends", async () => {
    c = await TalkingCluster.start(["A", "B", "C"], ["--heartbeat", "200"]);
    const claims = await Promise.all(["A", "B", "C", "A", "B", "C"].map((on) => c!.run(RELAY, ["dup"], on)));
    const ends = await Promise.all(claims.map((j) => Promise.race([j.ended, j.line(/ready/).then(() => null)])));
    const winners = claims.filter((_, i) => ends[i] === null);
    expect(winners.length).toBe(1);
    for (const [i, e] of ends.entries())
      if (e) expect([e, claims[i].lines]).toEqual([{ code: 1, error: null }, ["relay: give a free name"]]);
    await c.client.send("dup", text("quit"));
    await winners[0].ended;
    const again = await c.run(RELAY, ["dup"], "B");
    await again.line(/ready/);
    expect((await c.client.send("dup", text("hi"))).pid).toBe(again.pid);
  });

  it("migrant send delivers by pid or name; ps shows names and mailbox depth; nodes shows the message counters", async () => {
    c = await TalkingCluster.start(["A", "B"], ["--heartbeat", "200"]);
    const env = { MIGRANT_NODE: c.nodes.get("A")!.url };
    const slow = await c.run(STREAM, ["consume", "jar", "3", "0", "60000"], "B"); // asleep for a minute before it reads
    await sleep(200);
    for (const word of ["1", "2"]) {
      const r = await migrant(["send", "jar", word], env);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(new RegExp(`^migrant: delivered to ${slow.pid.replace(".", "\\.")} \\(0 extra hops, [\\d.]+ ms\\)\\n$`));
    }
    const byPid = await migrant(["send", slow.pid, "3", "--json"], env);
    expect(JSON.parse(byPid.stdout)).toMatchObject({ pid: slow.pid, hops: 0 });
    const none = await migrant(["send", "A.4242", "x"], env);
    expect([none.code, none.stderr]).toEqual([2, "migrant: no process A.4242 exists\n"]);
    const ps = await migrant(["ps"], env);
    expect(ps.stdout).toMatch(/PID\s+NAME\s+NODE\s+STATE.*MAILBOX/);
    expect(ps.stdout).toMatch(new RegExp(`${slow.pid.replace(".", "\\.")}\\s+jar\\s+B\\s+running.*\\s3\\s+stream\\.wasm`));
    const nodes = await migrant(["nodes"], env);
    expect(nodes.stdout).toMatch(/NAME\s+SENT\s+DELIVERED\s+FORWARDED\s+RETURNED\s+RESENT\s+HOPS\/MSG/);
    expect(nodes.stdout).toMatch(/^B\s+0\s+3\s+0\s+0\s+0\s+0\.00/m);
    expect(nodes.stdout).toMatch(/cluster: 3 messages delivered/);
  });
});
