// The mailbox of one migration: messages wait there by type until a phase asks
// for them; a wait ends with the message, a time limit, or the peer's failure.

import { describe, expect, it } from "vitest";
import { Mailbox } from "../host/migration/mailbox.js";

describe("mailbox", () => {
  it("hands a waiting phase the message it waits for, and queues the others in order", async () => {
    const box = new Mailbox();
    const waiting = box.next(["migAccept", "migRefuse"], 1000);
    box.deliver({ t: "migFault", mid: 1, page: 7 });
    box.deliver({ t: "migAccept", mid: 1 });
    expect(await waiting).toEqual({ t: "migAccept", mid: 1 });
    box.deliver({ t: "migFault", mid: 1, page: 8 });
    expect(box.take("migFault").map((m) => m.page)).toEqual([7, 8]);
    expect(box.take("migFault")).toEqual([]);
  });

  it("answers at once from the queue, oldest first, leaving other types queued", async () => {
    const box = new Mailbox();
    box.deliver({ t: "migSynced", mid: 2 });
    box.deliver({ t: "migResumed", mid: 2, at: 1 });
    box.deliver({ t: "migResumed", mid: 2, at: 2 });
    expect(await box.next(["migResumed"], 10)).toEqual({ t: "migResumed", mid: 2, at: 1 });
    expect(await box.next(["migResumed", "migSynced"], 10)).toEqual({ t: "migSynced", mid: 2 });
    expect(await box.next(["migResumed"], 10)).toEqual({ t: "migResumed", mid: 2, at: 2 });
  });

  it("gives up after its time limit, naming what it waited for", async () => {
    const box = new Mailbox();
    await expect(box.next(["migDone"], 20)).rejects.toThrow(/no migDone from the other node within 20 ms/);
    // a message that comes later is kept for the next wait
    box.deliver({
      t: "migDone",
      mid: 1,
      stats: { faults: 0, faultP50Us: 0, faultP99Us: 0, faultTimesMs: [], faultLatenciesUs: [], switchBackPauseMs: null },
    });
    expect((await box.next(["migDone"], 20)).t).toBe("migDone");
  });

  it("fails the wait under way and every later one when the peer is gone", async () => {
    const box = new Mailbox();
    const waiting = box.next(["migAccept"], 1000);
    box.fail(new Error("node B went away"));
    await expect(waiting).rejects.toThrow("node B went away");
    await expect(box.next(["migAccept"], 1000)).rejects.toThrow("node B went away");
  });
});
