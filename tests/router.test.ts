// The node's message router: each part's handler gets its messages; a failing
// client request is answered with an error frame whose code a client can
// branch on; nothing a handler throws ends the node.

import { describe, expect, it, vi } from "vitest";
import { Router } from "../host/cluster/router.js";
import { ModuleFormatError, RequestError, UsageError } from "../host/errors.js";
import { OutputLog, RING } from "../host/cluster/output-log.js";
import { FakeLink } from "./fake-link.js";
import { NO_MAIL_COUNTERS } from "../host/cluster/views.js";

describe("router", () => {
  it("hands each message to the part that registered its type and side", () => {
    const r = new Router(() => undefined);
    const got: string[] = [];
    r.on("client", "psRequest", (_l, m) => void got.push(`client ps ${m.req}`));
    r.on("node", "procsQuery", (l, m) => void got.push(`node ${l.peer} ${m.qid}`));
    r.route("client", new FakeLink("c"), { t: "psRequest", req: 4 });
    r.route("node", new FakeLink("B"), { t: "procsQuery", qid: 9 });
    expect(got).toEqual(["client ps 4", "node B 9"]);
    expect(() => r.on("client", "psRequest", () => undefined)).toThrow(/already has a handler/);
  });

  it("logs a flood of failed node messages at most 10 lines a second, then how many it left out; a bug is always logged", async () => {
    vi.useFakeTimers();
    try {
      const lines: string[] = [];
      const r = new Router((l) => lines.push(l));
      r.on("node", "procsQuery", (_l, m) => {
        if (m.qid === 0) throw new TypeError("x is undefined");
        throw new RequestError("busy", `not now ${m.qid}`);
      });
      const b = new FakeLink("B");
      for (let i = 1; i <= 100; i++) r.route("node", b, { t: "procsQuery", qid: i });
      r.route("node", b, { t: "procsQuery", qid: 0 });
      vi.advanceTimersByTime(1000);
      expect(lines.filter((l) => /failed: not now/.test(l))).toHaveLength(10);
      expect(lines.filter((l) => /\(a bug\)/.test(l))).toHaveLength(1);
      expect(lines.at(-1)).toBe("... and 90 more failed messages in that second (not each logged)");
    } finally {
      vi.useRealTimers();
    }
  });

  it("answers a failed client request with the code of its error", async () => {
    const r = new Router(() => undefined);
    const link = new FakeLink("c");
    r.on("client", "kill", (_l, m) => {
      throw new RequestError("no-such-process", `no process ${m.pid} on node A`);
    });
    r.on("client", "attach", async () => {
      throw new ModuleFormatError("not a module");
    });
    r.on("client", "migrate", () => {
      throw new UsageError("bad options");
    });
    r.on("client", "migrateCancel", () => {
      throw new TypeError("x is undefined");
    });
    r.route("client", link, { t: "kill", req: 1, pid: "A.9" });
    r.route("client", link, { t: "attach", req: 2, pid: "A.1", from: 1 });
    r.route("client", link, { t: "migrate", req: 3, pid: "A.1", to: "B", options: {} });
    r.route("client", link, { t: "migrateCancel", req: 4, pid: "A.1" });
    r.route("client", link, {
      t: "heartbeat",
      name: "c",
      state: { url: "", loopMs: 0, memory: 0, maxMemory: 0, cpus: 1, demand: 0, procs: [], mail: NO_MAIL_COUNTERS },
    });
    await new Promise((res) => setImmediate(res));
    expect(link.sentOf("error").map((e) => [e.req, e.code, e.message])).toEqual([
      [1, "no-such-process", "no process A.9 on node A"],
      [3, "bad-request", "bad options"],
      [4, "internal", "internal error: x is undefined"],
      [0, "bad-request", "a client may not send heartbeat"],
      [2, "bad-module", "not a module"],
    ]);
  });

  it("logs a failed node message once and ignores types no part takes", async () => {
    const events: string[] = [];
    const r = new Router((l) => events.push(l));
    r.on("node", "migBegin", async () => {
      throw new Error("no room");
    });
    const b = new FakeLink("B");
    r.route("node", b, {
      t: "migBegin",
      mid: 1,
      pid: "B.1",
      module: "m",
      hash: "h",
      info: { args: [], module: "m", startedAt: 0, migrations: 0, uptimeMs: 0, memoryPages: 1, strategy: "freeze", name: null },
    });
    r.route("node", b, { t: "migSynced", mid: 1 });
    await new Promise((res) => setImmediate(res));
    expect(events).toEqual(["migBegin from node B failed: no room"]);
    expect(b.sent).toEqual([]);
  });
});

describe("output log", () => {
  it("numbers lines on from where a process left off, and replays the recent ones from any line", () => {
    const log = new OutputLog(41);
    expect(log.append("a")).toBe(42);
    expect(log.append("b")).toBe(43);
    expect(log.seq).toBe(43);
    expect(log.since(43)).toEqual([[43, "b"]]);
    expect(log.since(0)).toEqual([
      [42, "a"],
      [43, "b"],
    ]);
  });

  it(`keeps the last ${RING} lines`, () => {
    const log = new OutputLog();
    for (let i = 0; i < RING + 5; i++) log.append(`line ${i}`);
    const kept = log.since(1);
    expect(kept).toHaveLength(RING);
    expect(kept[0]).toEqual([6, "line 5"]);
  });
});
