// The balancer's pure policies (host/policy/): the transfer rule and its
// hysteresis, the one-move slot, selection by load shed per cost, the
// chatty-pair rule (only one side moves), the location choice, the pair
// counters, the balancer's message checks, and the dry-run plan.

import { describe, expect, it } from "vitest";
import { overloaded, roomFor, roomForOne, excess, Slot } from "../host/policy/transfer.js";
import { select, pairMove, comparePids, cost, type PairEnd } from "../host/policy/selection.js";
import { bestDestination, pickRandom } from "../host/policy/location.js";
import { plan } from "../host/policy/plan.js";
import { checkEnd, checkLoad, checkOffer } from "../host/policy/checks.js";
import { PairRates } from "../host/cluster/messaging/pair-rates.js";
import type { NodeFigures, ProcFigures } from "../host/policy/information.js";
import { ProtocolError } from "../host/net/protocol.js";

const MiB = 1024 * 1024;
const proc = (pid: string, o: Partial<ProcFigures> = {}): ProcFigures => ({
  pid,
  share: 1,
  memory: MiB,
  dirtyRate: null,
  movable: true,
  ...o,
});
const node = (name: string, procs: ProcFigures[], o: Partial<NodeFigures> = {}): NodeFigures => ({
  name,
  cpus: 2,
  demand: procs.reduce((a, p) => a + p.share, 0),
  busy: false,
  procs,
  ...o,
});

describe("transfer", () => {
  it("is overloaded above cpus x (1 + threshold) with more than one process, and has room up to cpus", () => {
    expect(overloaded({ cpus: 2, demand: 2.5, procs: 3 }, 0.25)).toBe(false);
    expect(overloaded({ cpus: 2, demand: 2.6, procs: 3 }, 0.25)).toBe(true);
    expect(overloaded({ cpus: 2, demand: 6, procs: 1 }, 0.25)).toBe(false);
    expect(roomFor({ cpus: 2, demand: 1 }, 1)).toBe(true);
    expect(roomFor({ cpus: 2, demand: 1.5 }, 1)).toBe(false);
    expect(roomForOne({ cpus: 2, demand: 1 })).toBe(true);
    expect(excess({ cpus: 2, demand: 6, procs: 6 })).toBe(4);
  });

  it("holds one move at a time, frees only its own hold, and lets go after its bound", () => {
    let now = 0;
    const slot = new Slot(() => now);
    expect(slot.take("source", 100, { pid: "A.1" })).toBe(true);
    const h = slot.held;
    expect(slot.take("destination", 100)).toBe(false);
    slot.free(null);
    expect(slot.busy).toBe(true);
    now = 101;
    expect(slot.busy).toBe(false);
    expect(slot.take("destination", 100, { pid: "B.1", share: 0.5 })).toBe(true);
    expect(slot.reserved).toBe(0.5);
    slot.free(h); // an old hold: not this one
    expect(slot.busy).toBe(true);
  });
});

describe("selection", () => {
  it("prefers the most load shed per cost, and no process within its residence time", () => {
    const big = proc("A.1", { memory: 512 * MiB });
    const small = proc("A.2", { memory: MiB });
    const idle = proc("A.3", { share: 0.05 });
    expect(select([big, small, idle], 4)?.pid).toBe("A.2");
    expect(select([big, { ...small, movable: false }, idle], 4)?.pid).toBe("A.1");
    expect(select([{ ...big, movable: false }], 4)).toBeNull();
  });

  it("counts the dirty rate and a chatty partner on the node as cost", () => {
    expect(cost({ memory: MiB, dirtyRate: 10_000 })).toBeGreaterThan(cost({ memory: MiB, dirtyRate: null }));
    const chatty = (pid: string) => (pid === "A.1" ? 50 : 0);
    expect(select([proc("A.1"), proc("A.2", { memory: 8 * MiB })], 2, chatty)?.pid).toBe("A.2");
  });

  it("leaves out what does not fit the destination", () => {
    expect(select([proc("A.1"), proc("A.2", { share: 0.4 })], 2, undefined, (s) => s <= 0.5)?.pid).toBe("A.2");
  });

  it("compares pids by origin name, then counter", () => {
    expect(comparePids("A.10", "A.9")).toBeGreaterThan(0);
    expect(comparePids("B.1", "A.9")).toBeGreaterThan(0);
  });
});

describe("the chatty-pair rule", () => {
  const end = (pid: string, nodeName: string, demand: number, o: Partial<PairEnd> = {}): PairEnd => ({
    pid,
    share: 1,
    movable: true,
    node: nodeName,
    load: { cpus: 2, demand, busy: false },
    ...o,
  });

  it("moves the higher pid to the lower's node when it has room, the same from either side", () => {
    const x = end("A.1", "A", 1);
    const y = end("B.1", "B", 1);
    expect(pairMove(x, y, 10)).toEqual({ pid: "B.1", from: "B", to: "A" });
    expect(pairMove(y, x, 10)).toEqual({ pid: "B.1", from: "B", to: "A" });
  });

  it("else moves the lower pid to the higher's node; nothing when neither has room, or below the rate", () => {
    expect(pairMove(end("A.1", "A", 2), end("B.1", "B", 1), 10)).toEqual({ pid: "A.1", from: "A", to: "B" });
    expect(pairMove(end("A.1", "A", 2), end("B.1", "B", 2), 10)).toBeNull();
    expect(pairMove(end("A.1", "A", 1), end("B.1", "B", 1), 1)).toBeNull();
  });

  it("waits for the mover's residence: the other side does not move instead", () => {
    expect(pairMove(end("A.1", "A", 1), end("B.1", "B", 1, { movable: false }), 10)).toBeNull();
  });
});

describe("location", () => {
  it("takes the node with the most room that fits and is not busy", () => {
    const c = [
      { name: "B", cpus: 2, demand: 1, busy: false },
      { name: "C", cpus: 2, demand: 0, busy: true },
      { name: "D", cpus: 4, demand: 2.5, busy: false },
    ];
    expect(bestDestination(c, 1)?.name).toBe("D");
    expect(bestDestination(c, 1.6)).toBeNull();
    expect(pickRandom([1, 2, 3, 4, 5], 3)).toHaveLength(3);
    expect(new Set(pickRandom([1, 2, 3, 4, 5], 5)).size).toBe(5);
  });
});

describe("pair rates", () => {
  it("counts messages per pair over the last seconds, and forgets silent pairs", () => {
    let now = 0;
    const r = new PairRates(() => now);
    for (let i = 0; i < 50; i++) r.count("A.1", "B.1");
    r.count("B.1", "A.1");
    expect(r.partners("A.1")).toEqual([{ pid: "B.1", rate: 51 / 5 }]);
    now = 10_000;
    expect(r.rates()).toEqual([]);
  });
});

describe("checks", () => {
  it("refuses values no honest node sends", () => {
    expect(() => checkLoad({ t: "balanceLoad", qid: 1, cpus: 0, demand: 1, busy: 0 })).toThrow(ProtocolError);
    expect(() => checkLoad({ t: "balanceLoad", qid: 1, cpus: 2, demand: NaN, busy: 0 })).toThrow(ProtocolError);
    expect(() => checkLoad({ t: "balanceLoad", qid: 1, cpus: 2, demand: 1, busy: 2 })).toThrow(ProtocolError);
    expect(() => checkOffer({ t: "balanceOffer", qid: 1, pid: "nope", share: 1, reason: "" })).toThrow(ProtocolError);
    expect(() => checkOffer({ t: "balanceOffer", qid: 1, pid: "A.1", share: 2, reason: "" })).toThrow(ProtocolError);
    expect(() => checkEnd({ t: "balanceEnd", pid: "A.1", result: "maybe" })).toThrow(ProtocolError);
    expect(checkEnd({ t: "balanceEnd", pid: "A.1", result: "completed" }).pid).toBe("A.1");
  });
});

describe("the dry-run plan", () => {
  it("spreads six processes of one node, one move per node at a time", () => {
    const a = node(
      "A",
      [1, 2, 3, 4, 5, 6].map((k) => proc(`A.${k}`)),
    );
    const p = plan([a, node("B", []), node("C", [])], [], "symmetric", 0.25);
    expect(p.moves).toHaveLength(1); // A is in both moves' way: one at a time
    expect(p.moves[0]).toMatchObject({ from: "A" });
    expect(p.moves[0].reason).toMatch(/^sender: demand 6\.0 over 2 cpus x 1\.25; [BC] has room \(demand 0\.0 of 2\)$/);
  });

  it("says why nothing would move", () => {
    const even = [node("A", [proc("A.1"), proc("A.2")]), node("B", [proc("B.1")])];
    expect(plan(even, [], "sender", 0.25)).toEqual({ moves: [], why: expect.stringMatching(/no node is overloaded/) });
    const young = [
      node(
        "A",
        [1, 2, 3].map((k) => proc(`A.${k}`, { movable: false })),
      ),
      node("B", []),
    ];
    expect(plan(young, [], "sender", 0.25).why).toMatch(/may move yet/);
  });

  it("brings a chatty pair together first, and names the receiver as the initiator in receiver mode", () => {
    const nodes = [node("A", [proc("A.1")]), node("B", [proc("B.1")])];
    const p = plan(nodes, [{ a: "A.1", b: "B.1", rate: 20 }], "receiver", 0.25);
    expect(p.moves).toEqual([{ pid: "B.1", from: "B", to: "A", reason: expect.stringMatching(/^pair: B\.1 and A\.1 exchange 20\.0/) }]);
    const apart = [node("A", [proc("A.1")]), node("B", [proc("B.1", { movable: false })])];
    expect(plan(apart, [{ a: "A.1", b: "B.1", rate: 20 }], "receiver", 0.25).why).toMatch(
      /A\.1 and B\.1 exchange 20\.0 messages\/s but stay apart/,
    );
    const over = plan(
      [
        node(
          "A",
          [1, 2, 3].map((k) => proc(`A.${k}`)),
        ),
        node("B", []),
      ],
      [],
      "receiver",
      0.25,
    );
    expect(over.moves[0].reason).toMatch(/^receiver: B has room/);
  });
});
