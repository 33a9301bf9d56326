// Messages between processes on real nodes, for each forwarding mechanism:
// a token ring of 4 processes on 3 nodes and a producer -> consumer stream
// pass every message once and in order while their members are migrated at
// random moments by every strategy; a send to a process that does not exist
// or has ended returns false.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FORWARDING_MODES } from "../host/cluster/forwarding/forwarding.js";
import { EXAMPLE_GUESTS, RELAY, TALKING_GUESTS } from "./guests.js";
import { TalkingCluster, completedByStrategy, migrateWhileRunning, sleep, within, type Job } from "./talking-cluster.js";

const RING = EXAMPLE_GUESTS.find((g) => g.name === "token-ring")!;
const STREAM = TALKING_GUESTS.find((g) => g.name === "stream")!;
/** 4 x 3000 tokens: 12,000 messages round the ring */
const ROUNDS = 3000;
const STREAM_LENGTH = 10_000;

/** How a job ended, failing at once if it ended badly (its partners would wait for ever). */
const endedWell = (j: Job) =>
  j.ended.then((e) => {
    if (e.code !== 0 || e.error) throw new Error(`${j.pid} ended with ${e.code} (${e.error}): ${j.lines.join(" | ")}`);
    return e;
  });

describe.each(FORWARDING_MODES)("forwarding by %s", (mode) => {
  let c: TalkingCluster;
  beforeAll(async () => {
    c = await TalkingCluster.start(["A", "B", "C"], ["--heartbeat", "200", "--forwarding", mode]);
  });
  afterAll(() => c?.stop());

  it(`a token ring of 4 on 3 nodes passes ${4 * ROUNDS} messages, each once and in order, while its members move by every strategy`, async () => {
    const on = ["A", "B", "C", "A"];
    const members: Job[] = [];
    for (const i of [1, 2, 3]) members[i] = await c.run(RING, [String(i), "4", String(ROUNDS), "0"], on[i]);
    members[0] = await c.run(RING, ["0", "4", String(ROUNDS), "0"], on[0]);
    const all = within(Promise.all(members.map(endedWell)), 60_000, () =>
      members.map((m) => `${m.pid}: ${m.lines.join(" | ")}`).join("; "),
    );
    const moves = await migrateWhileRunning(
      c,
      members.map((m) => m.pid),
      all,
      { maxMoves: 60, pauseMs: 80 },
    );
    const ends = await all;
    for (const [i, m] of members.entries()) {
      expect(ends[i], m.lines.join("\n")).toEqual({ code: 0, error: null });
      expect(m.lines).toEqual([`ring-${i}: done, ${ROUNDS} tokens in order`, ...(i === 0 ? [`ring: ${4 * ROUNDS} messages passed`] : [])]);
    }
    const done = completedByStrategy(moves);
    for (const [s, n] of Object.entries(done)) expect(n, `${s} moves: ${JSON.stringify(done)}`).toBeGreaterThanOrEqual(1);
  });

  it(`a producer streams ${STREAM_LENGTH} numbered messages to a consumer while both move: complete and in order`, async () => {
    const consumer = await c.run(STREAM, ["consume", `sink-${mode}`, String(STREAM_LENGTH)], "B");
    const producer = await c.run(STREAM, ["produce", `sink-${mode}`, String(STREAM_LENGTH)], "C");
    const both = within(Promise.all([consumer, producer].map(endedWell)), 60_000, () => `${consumer.lines} / ${producer.lines}`);
    const moves = await migrateWhileRunning(c, [consumer.pid, producer.pid], both, { maxMoves: 40, pauseMs: 60 });
    const [ce, pe] = await both;
    expect(ce, consumer.lines.join("\n")).toEqual({ code: 0, error: null });
    expect(pe, producer.lines.join("\n")).toEqual({ code: 0, error: null });
    expect(consumer.lines).toEqual([`consumer: ${STREAM_LENGTH} messages, each once, in order`]);
    expect(producer.lines).toEqual([`producer: ${STREAM_LENGTH} sent`]);
    expect(moves.filter((m) => m.result === "completed").length).toBeGreaterThanOrEqual(2);
  });

  it("a send to a pid or name that names no process, or to one that has ended, returns false; to a live one, true", async () => {
    const gone = await c.run(RING, ["0", "1", "1", "0"], "A");
    await gone.ended;
    const relay = await c.run(RELAY, [`relay-${mode}`], "C");
    await relay.line(/ready/);
    const target = await c.run(RELAY, [`target-${mode}`], "B");
    await target.line(/ready/);
    // the target moves first: "true" must find it where it went
    expect((await c.migrate(target.pid, "A", "precopy")).result).toBe("completed");
    const asks = [`A.9999 x`, `Z.1 x`, `nobody-${mode} x`, `${gone.pid} x`, `${target.pid} hello`, `target-${mode} again`];
    for (const a of asks) await c.via("A").send(relay.pid, new TextEncoder().encode(`send ${a}`));
    await relay.line(/again: /);
    expect(relay.lines.slice(1)).toEqual([
      "A.9999 x: false",
      "Z.1 x: false",
      `nobody-${mode} x: false`,
      `${gone.pid} x: false`,
      `${target.pid} hello: true`,
      `target-${mode} again: true`,
    ]);
    await target.line(/got again/);
    expect(target.lines.slice(1)).toEqual([`got hello from ${relay.pid}`, `got again from ${relay.pid}`]);
    for (const j of [relay, target]) await c.client.send(j.pid, new TextEncoder().encode("quit"));
    await Promise.all([relay.ended, target.ended]);
    await sleep(0);
  });
});
