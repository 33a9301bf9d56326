// Membership, below the end-to-end tests: the table marks a member down after
// the silent heartbeats and reports its processes lost; the node's peer links
// record heartbeats, and a `bye` (a clean stop) or a closed link end a member.
// Time is the table's injected clock; links are fakes.

import { describe, expect, it, vi } from "vitest";
import { Membership, type Member } from "../host/cluster/membership.js";
import { SILENT_BEATS } from "../host/cluster/peers.js";
import { NO_MAIL_COUNTERS, type HeartbeatState, type ProcInfo } from "../host/cluster/views.js";
import { FakeLink, nodeA } from "./fake-link.js";

const proc = (pid: string, state: ProcInfo["state"] = "running"): ProcInfo => ({
  pid,
  node: "B",
  module: "counter.wasm",
  args: [],
  state,
  code: null,
  error: null,
  memory: 0,
  startedAt: 0,
  uptimeMs: 0,
  migrations: 0,
  name: null,
  mailbox: 0,
  demand: 0,
  cpu: 0,
});
const beat = (procs: ProcInfo[]): HeartbeatState => ({
  url: "ws://b",
  loopMs: 0,
  memory: 0,
  maxMemory: 0,
  cpus: 1,
  demand: 0,
  procs,
  mail: NO_MAIL_COUNTERS,
});

function table() {
  let now = 0;
  const downs: Array<{ member: Member; lost: string[] }> = [];
  const m = new Membership(
    "A",
    3000,
    (member, lost) => downs.push({ member: { ...member }, lost: lost.map((p) => p.pid) }),
    () => now,
  );
  return { m, downs, advance: (ms: number) => (now += ms) };
}

describe("membership table", () => {
  it("keeps a member up while it is heard, and marks it down once silent too long, its running processes lost", () => {
    const { m, downs, advance } = table();
    m.add("B", "ws://b", new FakeLink("B"));
    m.heard("B", beat([proc("B.1"), proc("B.2", "exited")]));
    advance(2900);
    m.sweep();
    expect(m.members.get("B")!.state).toBe("up");
    m.heard("B", beat([proc("B.1"), proc("B.2", "exited")]));
    advance(2900);
    m.sweep();
    expect(m.members.get("B")!.state).toBe("up");
    advance(200); // 3100 ms since it was last heard
    m.sweep();
    expect(m.members.get("B")!.state).toBe("down");
    expect(downs).toHaveLength(1);
    expect(downs[0].member.reason).toBe("silent for 3.1 s");
    expect(downs[0].lost).toEqual(["B.1"]);
    expect(m.processes().map((p) => [p.pid, p.state])).toEqual([
      ["B.1", "lost"],
      ["B.2", "exited"],
    ]);
    expect(m.up("B")).toBeNull();
    expect(m.links()).toEqual([]);
  });

  it("marks a member that said bye as left, once", () => {
    const { m, downs } = table();
    m.add("B", "ws://b", new FakeLink("B"));
    m.down("B", "left", "stopped by Ctrl-C");
    m.down("B", "down", "link closed");
    m.sweep();
    expect(downs.map((d) => [d.member.state, d.member.reason])).toEqual([["left", "stopped by Ctrl-C"]]);
    expect(m.nodes()[0]).toMatchObject({ name: "B", state: "left", reason: "stopped by Ctrl-C" });
  });

  it("takes a member back when it joins again", () => {
    const { m, advance } = table();
    m.add("B", "ws://b", new FakeLink("B"));
    advance(5000);
    m.sweep();
    const again = new FakeLink("B");
    m.add("B", "ws://b2", again);
    expect(m.up("B")).toMatchObject({ state: "up", url: "ws://b2", reason: null });
    expect(m.links()).toEqual([again]);
  });
});

describe("membership that heals", () => {
  it("a member down for silence that is heard again on its open link is up, its processes running again", () => {
    const ups: Array<[string, number]> = [];
    let now = 0;
    const m = new Membership(
      "A",
      3000,
      () => undefined,
      () => now,
      (member, ms) => ups.push([member.name, ms]),
    );
    const b = new FakeLink("B");
    m.add("B", "ws://b", b);
    m.heard("B", beat([proc("B.1")]), b);
    now += 8000;
    m.sweep();
    expect(m.members.get("B")!.state).toBe("down");
    expect(m.processes().map((p) => p.state)).toEqual(["lost"]);
    m.heard("B", beat([proc("B.1")]), b);
    expect(ups).toEqual([["B", 8000]]);
    expect(m.up("B")).toMatchObject({ state: "up", link: b, reason: null });
    expect(m.processes().map((p) => p.state)).toEqual(["running"]);
  });

  it("any frame counts as hearing a member; a closed link or a member that left is not revived", () => {
    let now = 0;
    const m = new Membership(
      "A",
      3000,
      () => undefined,
      () => now,
    );
    const b = new FakeLink("B");
    const c = new FakeLink("C");
    m.add("B", "ws://b", b);
    m.add("C", "ws://c", c);
    now += 2900;
    m.seen("B", b);
    now += 200;
    m.sweep();
    expect(m.members.get("B")!.state).toBe("up");
    expect(m.members.get("C")!.state).toBe("down");
    c.close();
    m.seen("C", c);
    expect(m.members.get("C")!.state).toBe("down");
    m.down("B", "left", "bye");
    m.seen("B", b);
    expect(m.members.get("B")!.state).toBe("left");
  });

  it("refresh gives every member a fresh window (this node was the one not listening)", () => {
    let now = 0;
    const m = new Membership(
      "A",
      3000,
      () => undefined,
      () => now,
    );
    m.add("B", "ws://b", new FakeLink("B"));
    now += 9000;
    m.refresh();
    m.sweep();
    expect(m.members.get("B")!.state).toBe("up");
    now += 3100;
    m.sweep();
    expect(m.members.get("B")!.state).toBe("down");
  });

  it("a sweep long overdue does not blame the members: this node says it did not run, and they stay up", () => {
    vi.useFakeTimers({ toFake: ["setInterval", "clearInterval", "performance"] });
    const { peers: p, events } = nodeA();
    try {
      p.start();
      const b = new FakeLink("B");
      p.adopt(b, "ws://b");
      vi.setSystemTime(0);
      // the whole process stood still: time moves, no timer ran meanwhile
      vi.advanceTimersByTime(50);
      const stalled = performance.now() + 10_000;
      vi.spyOn(performance, "now").mockImplementation(() => stalled);
      vi.advanceTimersByTime(50);
      expect(p.membership.members.get("B")!.state).toBe("up");
      expect(events).toEqual([expect.stringMatching(/^this node did not run for 10\.\d s/)]);
    } finally {
      p.close();
      vi.restoreAllMocks();
      vi.useRealTimers();
    }
  });
});

describe("peer links", () => {
  function peers() {
    const { peers: p, events } = nodeA();
    return { p, events };
  }

  it("greets a new member with a heartbeat, records the ones it sends, and lists it up", () => {
    const { p } = peers();
    const b = new FakeLink("B");
    p.adopt(b, "ws://b");
    expect(b.sentOf("heartbeat")).toHaveLength(1);
    b.deliver({ t: "heartbeat", name: "B", state: beat([proc("B.1")]) });
    expect(p.membership.processes().map((x) => x.pid)).toEqual(["B.1"]);
    expect(p.membership.up("B")?.link).toBe(b);
    p.beat();
    expect(b.sentOf("heartbeat")).toHaveLength(2);
  });

  it("a member that says bye has left (a clean stop), and its closing link does not make it down", () => {
    const { p, events } = peers();
    const b = new FakeLink("B");
    p.adopt(b, "ws://b");
    b.deliver({ t: "bye", reason: "stopped by SIGTERM" });
    b.close(4002, "stopped by SIGTERM");
    expect(p.membership.members.get("B")).toMatchObject({ state: "left", reason: "stopped by SIGTERM" });
    expect(events).toEqual(["node B left (stopped by SIGTERM)"]);
  });

  it("a member whose link closes is down, its processes lost, and the parts that track it hear so", () => {
    const { p, events } = peers();
    const gone: string[] = [];
    p.onGone((peer) => gone.push(peer));
    const b = new FakeLink("B");
    p.adopt(b, "ws://b");
    b.deliver({ t: "heartbeat", name: "B", state: beat([proc("B.1")]) });
    b.close(1006, "");
    expect(gone).toEqual(["B"]);
    expect(p.membership.members.get("B")!.state).toBe("down");
    expect(events).toEqual(["node B is down (link closed); its processes are lost: B.1"]);
  });

  it("marks a member down after SILENT_BEATS heartbeats of silence, and not before", () => {
    vi.useFakeTimers({ toFake: ["setInterval", "clearInterval", "performance"] });
    const { p, events } = peers();
    try {
      p.start();
      const b = new FakeLink("B");
      p.adopt(b, "ws://b");
      vi.advanceTimersByTime(100 * SILENT_BEATS - 50);
      expect(p.membership.members.get("B")!.state).toBe("up");
      expect(b.sentOf("heartbeat").length).toBeGreaterThanOrEqual(SILENT_BEATS); // ours went out meanwhile
      b.deliver({ t: "heartbeat", name: "B", state: beat([]) });
      vi.advanceTimersByTime(100 * SILENT_BEATS - 50);
      expect(p.membership.members.get("B")!.state).toBe("up");
      vi.advanceTimersByTime(150);
      expect(p.membership.members.get("B")!.state).toBe("down");
      expect(events).toEqual([expect.stringMatching(/^node B is down \(silent for 0\.[67] s\)$/)]);
    } finally {
      p.close();
      vi.useRealTimers();
    }
  });
});
