// The forwarding mechanisms' own decisions, without nodes: a location update
// older than what a node knows is ignored (two updates out of order cannot
// make two nodes point at each other), hostile updates are dropped, a node
// that has lost track follows the members' heartbeats, and the origin answers
// only for pids it handed out.

import { describe, expect, it } from "vitest";
import { LocationCache } from "../host/cluster/forwarding/location-cache.js";
import { createForwarding } from "../host/cluster/forwarding/create.js";
import type { ForwardingEnv, ForwardingMode } from "../host/cluster/forwarding/forwarding.js";
import { Router } from "../host/cluster/router.js";
import type { Message } from "../host/net/protocol.js";
import { FakeLink } from "./fake-link.js";

/** Node A's mechanism of `mode`, with members B and C, its sends recorded, and what the heartbeats say settable. */
function nodeA(mode: ForwardingMode, o: { issued?: (pid: string) => boolean; updateWaitMs?: number } = {}) {
  const router = new Router(() => undefined);
  const sent: Array<[string, Message]> = [];
  const heard = new Map<string, string>();
  const env: ForwardingEnv = {
    self: "A",
    router,
    sendTo: (node, m) => (sent.push([node, m]), node === "B" || node === "C"),
    isUp: (n) => n === "B" || n === "C",
    known: (n) => ["A", "B", "C"].includes(n),
    reportedAt: (pid) => heard.get(pid) ?? null,
    issued: o.issued ?? (() => true),
    control: () => undefined,
    locator: { locate: async () => "unknown" } as never,
    updateWaitMs: o.updateWaitMs ?? 100,
    event: () => undefined,
  };
  const f = createForwarding(mode, env);
  const from = (peer: string) => {
    const link = new FakeLink(peer);
    return (m: Message) => router.route("node", link, m);
  };
  return { f, sent, heard, from };
}

describe("location cache", () => {
  it("ignores an update older than what it knows; an update without an epoch keeps the epoch", () => {
    const c = new LocationCache();
    expect(c.set("X.1", "B", 3)).toBe(true);
    expect(c.set("X.1", "C", 2)).toBe(false);
    expect(c.get("X.1")).toBe("B");
    c.set("X.1", "C"); // a delivery's answer: where it is now
    expect(c.set("X.1", "A", 2)).toBe(false); // still older than 3
    expect(c.set("X.1", "A", 4)).toBe(true);
    expect(c.get("X.1")).toBe("A");
  });

  it("is bounded: the entry used least recently goes first", () => {
    const c = new LocationCache(3);
    for (const p of ["X.1", "X.2", "X.3", "X.4"]) c.set(p, "B");
    expect([c.get("X.1"), c.get("X.4"), c.size]).toEqual([undefined, "B", 3]);
  });
});

describe("traversal", () => {
  it("follows its link; drops updates that name no pid or no member, or that are older; after a loop it follows the heartbeats", () => {
    const { f, heard, from } = nodeA("traversal");
    f.left("C.7", "B", 1);
    expect(f.notHere("C.7")).toEqual({ forward: "B" });
    const fromC = from("C");
    fromC({ t: "locUpdate", id: 0, pid: "C.7", node: "nowhere", epoch: 9, ack: 0 });
    fromC({ t: "locUpdate", id: 0, pid: "x".repeat(5000), node: "C", epoch: 9, ack: 0 });
    fromC({ t: "locUpdate", id: 0, pid: "C.7", node: "C", epoch: 0, ack: 0 }); // older than the move it knows of
    expect(f.notHere("C.7")).toEqual({ forward: "B" });
    fromC({ t: "locUpdate", id: 0, pid: "C.7", node: "C", epoch: 2, ack: 0 });
    expect(f.notHere("C.7")).toEqual({ forward: "C" });
    heard.set("C.7", "B");
    f.forget("C.7"); // a message went round in circles
    expect(f.notHere("C.7")).toEqual({ forward: "B" });
  });

  it("tells every node a message passed through where it was taken, with the process's move count", () => {
    const { f, sent } = nodeA("traversal");
    f.reached("C.7", ["C", "B", "C"], 4);
    expect(sent).toEqual([
      ["C", { t: "locUpdate", id: 0, pid: "C.7", node: "A", epoch: 4, ack: 0 }],
      ["B", { t: "locUpdate", id: 0, pid: "C.7", node: "A", epoch: 4, ack: 0 }],
    ]);
  });
});

describe("origin", () => {
  it("keeps the location of the pids it handed out, ignores updates for any other, and answers ended", () => {
    const { f, from } = nodeA("origin", { issued: (pid) => pid === "A.1" || pid === "A.2" });
    f.created("A.1");
    const fromB = from("B");
    fromB({ t: "locUpdate", id: 0, pid: "A.1", node: "B", epoch: 1, ack: 0 });
    fromB({ t: "locUpdate", id: 0, pid: "A.99", node: "B", epoch: 1, ack: 0 }); // never handed out
    expect(f.notHere("A.1")).toEqual({ forward: "B" });
    expect(f.notHere("A.99")).toEqual({ answer: "stuck" }); // just started: it may not have heard of it yet
    expect(f.notHere("B.3")).toEqual({ forward: "B" }); // not ours: to its origin
    fromB({ t: "locUpdate", id: 0, pid: "A.1", node: "", epoch: 1, ack: 0 });
    expect(f.notHere("A.1")).toEqual({ answer: "ended" });
  });
});

describe("update", () => {
  it("tells each link holder and goes on once they have all answered", async () => {
    const { f, sent, from } = nodeA("update", { updateWaitMs: 600_000 });
    const waiting = f.beforeResume("A.1", "B", ["A", "B", "C"], 1); // A is here, B is where it goes: only C is told
    const update = sent.find(([n]) => n === "C")![1] as Extract<Message, { t: "locUpdate" }>;
    expect(update).toMatchObject({ pid: "A.1", node: "B", epoch: 1, ack: 1 });
    from("C")({ t: "locAck", id: update.id });
    const first = await Promise.race([waiting.then(() => "answered"), new Promise((r) => setTimeout(() => r("still waiting"), 5000))]);
    expect(first).toBe("answered");
  });

  it("waits for a holder that does not answer only up to the bound", async () => {
    const { f, sent } = nodeA("update", { updateWaitMs: 50 });
    await f.beforeResume("A.1", "C", ["B"], 2); // B never answers: this returns all the same
    expect(sent.filter(([n, m]) => n === "B" && m.t === "locUpdate").length).toBe(1);
  });
});
