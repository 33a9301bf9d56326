// The cluster-wide ps, below the end-to-end tests: it asks every member for
// its processes now (reading its writes), stops waiting for a member that goes
// away, falls back to a member's last heartbeat, and a node that handed a
// process over keeps listing it, in its own answers too. Links are fakes.

import { describe, expect, it } from "vitest";
import { ClusterView, QUERY_MS } from "../host/cluster/cluster-view.js";
import { ProcessTable } from "../host/cluster/processes.js";
import { NO_MAIL_COUNTERS, type ProcInfo } from "../host/cluster/views.js";
import { FakeLink, nodeA } from "./fake-link.js";

const proc = (pid: string, node: string, migrations = 0): ProcInfo => ({
  pid,
  node,
  module: "counter.wasm",
  args: [],
  state: "running",
  code: null,
  error: null,
  memory: 0,
  startedAt: 0,
  uptimeMs: 0,
  migrations,
  name: null,
  mailbox: 0,
  demand: 0,
  cpu: 0,
});

function node() {
  const { router, peers } = nodeA();
  const table = new ProcessTable(
    "A",
    () => undefined,
    () => undefined,
  );
  const view = new ClusterView(
    {
      name: "A",
      url: () => "ws://a",
      maxMemory: 0,
      departedMs: 60_000,
      mail: () => ({ ...NO_MAIL_COUNTERS }),
      loopMs: () => 0,
      cpus: 1,
      demand: () => 0,
    },
    table,
    peers,
    router,
  );
  const member = (name: string) => {
    const link = new FakeLink(name);
    peers.adopt(link, `ws://${name}`);
    return link;
  };
  return { view, member };
}

describe("cluster view", () => {
  it("lists what each member answers now, not what its last heartbeat said", async () => {
    const { view, member } = node();
    const b = member("B");
    b.deliver({
      t: "heartbeat",
      name: "B",
      state: { url: "ws://b", loopMs: 0, memory: 0, maxMemory: 0, cpus: 1, demand: 0, procs: [proc("B.1", "B")], mail: NO_MAIL_COUNTERS },
    });
    const listing = view.processes();
    const { qid } = b.sentOf("procsQuery")[0];
    b.deliver({ t: "procsReply", qid, list: [proc("B.1", "B"), proc("B.2", "B")] });
    expect((await listing).map((p) => p.pid).sort()).toEqual(["B.1", "B.2"]);
  });

  it("stops waiting for a member whose link closes, and shows it as its last heartbeat said", async () => {
    const { view, member } = node();
    const b = member("B");
    const c = member("C");
    c.deliver({
      t: "heartbeat",
      name: "C",
      state: { url: "ws://c", loopMs: 0, memory: 0, maxMemory: 0, cpus: 1, demand: 0, procs: [proc("C.1", "C")], mail: NO_MAIL_COUNTERS },
    });
    const t0 = performance.now();
    const listing = view.processes();
    b.deliver({ t: "procsReply", qid: b.sentOf("procsQuery")[0].qid, list: [proc("B.1", "B")] });
    c.close(1006, "");
    const list = await listing;
    expect(performance.now() - t0).toBeLessThan(QUERY_MS / 2);
    expect(list.map((p) => [p.pid, p.state]).sort()).toEqual([
      ["B.1", "running"],
      ["C.1", "lost"],
    ]);
  });

  it("a node that handed a process over lists it where it went, in its answers too; the newer entry wins", async () => {
    const { view, member } = node();
    const b = member("B");
    view.departedTo(proc("A.1", "B", 1));
    b.deliver({ t: "procsQuery", qid: 7 });
    expect(b.sentOf("procsReply")).toEqual([{ t: "procsReply", qid: 7, list: [proc("A.1", "B", 1)] }]);
    // B answers with an older entry (it has not taken the process in yet) and a newer one of another pid
    const listing = view.processes();
    const { qid } = b.sentOf("procsQuery")[0];
    b.deliver({ t: "procsReply", qid, list: [proc("A.1", "A", 0), proc("A.2", "B", 3)] });
    expect((await listing).map((p) => [p.pid, p.node, p.migrations]).sort()).toEqual([
      ["A.1", "B", 1],
      ["A.2", "B", 3],
    ]);
  });

  it("of two entries with as many migrations, the one from the node the process is on wins: one that ended there is not listed running", async () => {
    const { view, member } = node();
    const b = member("B");
    const c = member("C");
    const listing = view.processes();
    // C, where the process went and ended, answers first; B, which handed it over, lists it as it went: running on C
    c.deliver({ t: "procsReply", qid: c.sentOf("procsQuery")[0].qid, list: [{ ...proc("B.1", "C", 1), state: "exited", code: 0 }] });
    b.deliver({ t: "procsReply", qid: b.sentOf("procsQuery")[0].qid, list: [proc("B.1", "C", 1)] });
    expect((await listing).map((p) => [p.pid, p.node, p.state])).toEqual([["B.1", "C", "exited"]]);
  });
});
