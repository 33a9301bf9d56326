// The snapshot encoding: what goes in comes out, and a truncated or damaged
// file is refused with a clear error, never half-read.

import { beforeAll, describe, expect, it } from "vitest";
import { GuestProcess } from "../host/process.js";
import { decodeSnapshot, encodeSnapshot } from "../host/snapshot/codec.js";
import { SnapshotFormatError } from "../host/errors.js";
import type { Snapshot } from "../host/snapshot/snapshot.js";
import { checkSnapshot } from "../host/snapshot/check.js";
import { LocalMail } from "../host/messaging/local-mail.js";
import { DEEP, EXAMPLE_GUESTS, FLOATS, SELFMAIL, WORKLOADS, guestImage } from "./guests.js";
import { random } from "./seed.js";

let snap: Snapshot;
let bytes: Buffer;

beforeAll(async () => {
  const g = EXAMPLE_GUESTS.find((x) => x.name === "strings")!;
  const image = await guestImage(g);
  // ten times its test-sized work (its 160 ms run ended before a 150 ms freeze on a fast machine): caught mid-run
  const p = GuestProcess.start(image, { pid: "A.7", node: "A", args: [String(Number(g.args[0]) * 10)] });
  await new Promise((r) => setTimeout(r, 150));
  expect(await p.freeze()).not.toBeNull();
  snap = p.capture(["a line not yet delivered"]);
  await p.release();
  bytes = encodeSnapshot(snap);
});

describe("snapshot encoding", () => {
  it("decodes to what was encoded", () => {
    const back = decodeSnapshot(bytes);
    expect(back.pid).toBe("A.7");
    expect(back.args).toEqual(snap.args);
    expect(back.pendingOutput).toEqual(["a line not yet delivered"]);
    expect(back.state).toEqual(snap.state);
    expect(back.memoryPages).toBe(snap.memoryPages);
    expect(Buffer.from(back.image).equals(Buffer.from(snap.image))).toBe(true);
    expect(Buffer.from(back.asyncify).equals(Buffer.from(snap.asyncify))).toBe(true);
    expect(Array.from(back.pages.indices)).toEqual(Array.from(snap.pages.indices));
    expect(Buffer.from(back.pages.data).equals(Buffer.from(snap.pages.data))).toBe(true);
    expect(snap.pages.indices.length).toBeGreaterThan(0);
  });

  it("omits zero pages", () => {
    const size = snap.pages.data.length / snap.pages.indices.length;
    for (let i = 0; i < snap.pages.indices.length; i++) {
      expect(snap.pages.data.subarray(i * size, (i + 1) * size).some((b) => b !== 0)).toBe(true);
    }
  });

  it("refuses a file truncated anywhere", () => {
    const cuts = [0, 5, 12, 20, 100, ...Array.from({ length: 20 }, (_, i) => Math.floor((bytes.length * (i + 1)) / 21)), bytes.length - 1];
    for (const n of cuts) {
      expect(() => decodeSnapshot(bytes.subarray(0, n)), `cut at ${n}`).toThrow(SnapshotFormatError);
    }
  });

  it("refuses a file with any single bit flipped", () => {
    for (let i = 0; i < 40; i++) {
      const damaged = Buffer.from(bytes);
      const at = Math.floor(random() * damaged.length);
      damaged[at] ^= 1 << Math.floor(random() * 8);
      expect(() => decodeSnapshot(damaged), `bit flipped at ${at}`).toThrow(SnapshotFormatError);
    }
  });

  it("says what is wrong: not a snapshot, or another format version", () => {
    expect(() => decodeSnapshot(Buffer.from("hello, this is not a snapshot at all"))).toThrow(/not a migrant snapshot/);
    const other = Buffer.from(bytes);
    other.writeUInt32LE(99, 8);
    expect(() => decodeSnapshot(other)).toThrow(/format 99/);
  });
});

describe("a snapshot checked against its module", () => {
  it("accepts a real snapshot of every kind of guest (globals of every type, mail, grown memory, deep stacks)", async () => {
    let checked = 0;
    for (const g of [...EXAMPLE_GUESTS, FLOATS, DEEP, SELFMAIL, ...WORKLOADS]) {
      const image = await guestImage(g);
      const post = new LocalMail("A.1");
      const p = GuestProcess.start(image, { pid: "A.1", node: "A", args: g.args, onMail: post.onMail });
      post.attach(p);
      await new Promise((r) => setTimeout(r, 40 + random() * 120));
      const state = await p.freeze();
      if (!state) continue; // it ended first
      post.mail.reconcile(state.mail);
      const taken = p.capture(["pending"], post.mail.state());
      await p.release();
      const back = decodeSnapshot(encodeSnapshot(taken), `${g.name}.snap`);
      expect(() => checkSnapshot(back, image, `${g.name}.snap`), g.name).not.toThrow();
      checked++;
    }
    expect(checked).toBeGreaterThan(10);
  });
});
