// A process's mailbox (host/messaging/process-mail.ts): each message taken
// once and in order whatever is sent twice, bounded with word of room for the
// senders that waited, reconciled with what a frozen guest took, and carried
// whole in its travelling state, in a snapshot file, and by `migrant resume`.

import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CLIENT_SENDER, MAIL_STATE, MAX_BYTES, ProcessMail } from "../host/messaging/process-mail.js";
import { decodeSnapshot, encodeSnapshot } from "../host/snapshot/codec.js";
import { SnapshotFormatError } from "../host/errors.js";
import { LocalMail } from "../host/messaging/local-mail.js";
import { GuestProcess } from "../host/process.js";
import { EXAMPLE_GUESTS, SELFMAIL, guestImage } from "./guests.js";
import { lines, migrant } from "./processes.js";

const bytes = (s: string) => new TextEncoder().encode(s);
const word = (b: string) => Buffer.from(b, "base64").toString();
/** a sender id per pid, as a process's mailbox would have made it */
const sid = (pid: string) => `sid-of-${pid}`;

describe("the mailbox", () => {
  it("takes each message of a sender once: a copy (a resend, the same send from the sender's new node) is a dup", () => {
    const m = new ProcessMail(8);
    expect(m.accept("A.1", sid("A.1"), 1, bytes("a"), "A")).toBe("delivered");
    expect(m.accept("A.1", sid("A.1"), 1, bytes("a"), "B")).toBe("dup");
    expect(m.accept("B.4", sid("B.4"), 1, bytes("x"), "B")).toBe("delivered");
    expect(m.accept("A.1", sid("A.1"), 2, bytes("b"), "B")).toBe("delivered");
    expect(m.accept("A.1", sid("A.1"), 2, bytes("b"), "A")).toBe("dup");
    expect(m.depth).toBe(3);
    expect(m.state().inbox.map((l) => [l.i, l.from, word(l.data)])).toEqual([
      [1, "A.1", "a"],
      [2, "B.4", "x"],
      [3, "A.1", "b"],
    ]);
    expect(new Set(m.holders)).toEqual(new Set(["A", "B"]));
  });

  it("is bounded: full refuses without taking, and the nodes that were told so hear once that there is room", () => {
    const m = new ProcessMail(2);
    m.accept("A.1", sid("A.1"), 1, bytes("1"), "A");
    m.accept("A.1", sid("A.1"), 2, bytes("2"), "A");
    expect(m.accept("A.1", sid("A.1"), 3, bytes("3"), "A")).toBe("full");
    expect(m.accept("C.9", sid("C.9"), 1, bytes("z"), "C")).toBe("full");
    expect(m.has(sid("A.1"), 3)).toBe(false); // not taken: it comes again
    expect(m.took(1).sort()).toEqual(["A", "C"]);
    expect(m.took(2)).toEqual([]); // told once
    expect(m.accept("A.1", sid("A.1"), 3, bytes("3"), "A")).toBe("delivered");
  });

  it("at a freeze, drops what the guest took and the send it saw end", () => {
    const m = new ProcessMail();
    for (const n of [1, 2, 3]) m.accept("A.1", sid("A.1"), n, bytes(String(n)), "A");
    const out = m.send(5, "B.2", bytes("q"));
    m.complete(out, true);
    m.reconcile({ received: 2, sent: 5, sender: "A.1" });
    expect(m.depth).toBe(1);
    expect(m.pending).toBeNull();
    const o = m.send(6, "B.2", bytes("r"));
    m.reconcile({ received: 2, sent: 5, sender: "A.1" });
    expect(m.pending).toBe(o); // still under way: it travels, and its new node drives it again
  });

  it("travels whole: messages, what it took from whom, its send under way, its name, its link holders", () => {
    const m = new ProcessMail(16);
    m.accept("A.1", sid("A.1"), 7, bytes("hello"), "A");
    m.send(3, "kv", bytes("get k"));
    m.name = "ring-1";
    const state = MAIL_STATE.check(JSON.parse(JSON.stringify(m.state())), "mail");
    const back = new ProcessMail(16, state);
    expect(back.state()).toEqual(m.state());
    expect(back.accept("A.1", sid("A.1"), 7, bytes("hello"), "A")).toBe("dup");
    expect(back.name).toBe("ring-1");
    expect(back.pending?.n).toBe(3);
  });
});

describe("who a sender is", () => {
  it("knows a sender by its sender id, not its pid: a pid handed out again after a restart starts afresh", () => {
    const m = new ProcessMail(8);
    expect(m.accept("C.1", "first-life", 1, bytes("a"), "C")).toBe("delivered");
    expect(m.accept("C.1", "second-life", 1, bytes("b"), "C")).toBe("delivered");
    expect(m.depth).toBe(2);
  });

  it("keeps clients' one-off senders apart: thousands of `migrant send`s never make it forget a process", () => {
    const m = new ProcessMail(100_000);
    m.accept("A.1", sid("A.1"), 5, bytes("p"), "A");
    for (let i = 0; i < 12_000; i++) m.accept(`client-${i}@A`, `${CLIENT_SENDER}${i}`, 1, bytes("c"), "A");
    expect(m.accept("A.1", sid("A.1"), 5, bytes("p"), "A")).toBe("dup");
    expect(m.has(`${CLIENT_SENDER}11999`, 1)).toBe(true);
    expect(m.has(`${CLIENT_SENDER}0`, 1)).toBe(false); // the oldest clients are forgotten first
  });

  it("tells a node refused for bytes when there is room, and keeps waiters across a freeze", () => {
    const m = new ProcessMail(10);
    m.accept("A.1", sid("A.1"), 1, new Uint8Array(MAX_BYTES - 10), "A");
    expect(m.accept("B.1", sid("B.1"), 1, new Uint8Array(100), "B")).toBe("full"); // over the bytes, not the count
    m.reconcile({ received: 0, sent: 0, sender: "" });
    expect(m.took(1)).toEqual(["B"]);
  });

  it("lets go of what an ended process did not receive, but still knows a copy", () => {
    const m = new ProcessMail(8);
    m.accept("A.1", sid("A.1"), 1, bytes("x".repeat(1000)), "A");
    m.ended();
    expect(m.depth).toBe(0);
    expect(m.has(sid("A.1"), 1)).toBe(true);
  });
});

describe("snapshots carry the mailbox", () => {
  it("a process frozen to a file with messages queued receives them when resumed (migrant run --checkpoint-after, resume)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "migrant-mail-"));
    const snap = join(dir, "selfmail.snap");
    const first = await migrant(["run", SELFMAIL.file, "3", "3000", "--checkpoint-after", "1200", "--to", snap]);
    expect(first.code, first.stderr).toBe(0);
    expect(lines(first.stdout)).toEqual(["register self: true", "whereis self is me: true", "send to nobody: false", "queued 3"]);
    expect(first.stderr).toMatch(/checkpointed to .* 3 messages queued/);
    const resumed = await migrant(["resume", snap, "--node-name", "B"]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(lines(resumed.stdout)).toEqual(["got m1 from me", "got m2 from me", "got m3 from me", "then nothing: true"]);
  });

  it("the snapshot file keeps the mailbox, and refuses one whose mailbox is not one", async () => {
    const ring = EXAMPLE_GUESTS.find((g) => g.name === "token-ring")!;
    const image = await guestImage(ring);
    const post = new LocalMail("A.1");
    const p = GuestProcess.start(image, { pid: "A.1", node: "A", args: ["0", "1", "100000", "0"], onMail: post.onMail });
    post.attach(p);
    await new Promise((r) => setTimeout(r, 300));
    const state = await p.freeze();
    expect(state).not.toBeNull();
    post.mail.reconcile(state!.mail);
    const snap = p.capture([], post.mail.state());
    await p.release();
    expect(snap.state.mail.sent).toBeGreaterThan(10);
    expect(snap.mail.name).toBe("ring-0");
    const back = decodeSnapshot(encodeSnapshot(snap));
    expect(back.mail).toEqual(snap.mail);
    const bad = encodeSnapshot({ ...snap, mail: { ...snap.mail, inbox: "nonsense" } as never });
    expect(() => decodeSnapshot(bad)).toThrow(SnapshotFormatError);
    expect(() => decodeSnapshot(bad)).toThrow(/header mail\.inbox: expected an array/);
  });
});
