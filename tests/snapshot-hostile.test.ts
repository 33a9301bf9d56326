// Snapshots edited the way a probe would: a field changed and the checksum
// computed again, so that only the checks after the checksum stand between
// the edit and the resume. Each is refused with one clear line and exit code 2
// (never a stack trace, never the internal-error exit 70), and a property
// test edits random header fields and structure words of a real snapshot:
// what `migrant resume` does then is either refuse it that way or run it to
// the same end as the unedited file.

import { mkdtempSync, writeFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { GuestProcess } from "../host/process.js";
import { encodeSnapshot } from "../host/snapshot/codec.js";
import { resumeLocal } from "../host/cli/local.js";
import { MigrantError, SnapshotFormatError } from "../host/errors.js";
import { LocalMail } from "../host/messaging/local-mail.js";
import type { Image } from "../host/image.js";
import { EXAMPLE_GUESTS, guestImage } from "./guests.js";
import { migrant, lines } from "./processes.js";
import { edited, setPath, split, type RawSnapshot } from "./snapshot-file.js";
import "./seed.js";

const dir = mkdtempSync(join(tmpdir(), "migrant-snap-hostile-"));
const guest = (name: string) => EXAMPLE_GUESTS.find((g) => g.name === name)!;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A snapshot file of `image` frozen after `ms` (its mailbox as the local runner keeps it). */
async function snapshotOf(image: Image, args: string[], ms: number, pending: string[] = []): Promise<Buffer> {
  const post = new LocalMail("A.1");
  const p = GuestProcess.start(image, { pid: "A.1", node: "A", args, onMail: post.onMail });
  post.attach(p);
  await sleep(ms);
  const state = await p.freeze();
  expect(state).not.toBeNull();
  post.mail.reconcile(state!.mail);
  const snap = p.capture(pending, post.mail.state());
  await p.release();
  return encodeSnapshot(snap);
}

/** `migrant resume` in this process: its output lines, or the error it refused with. */
async function resume(bytes: Buffer, name = "x.snap"): Promise<{ code: number; out: string[] } | { refused: Error }> {
  const file = join(dir, name);
  writeFileSync(file, bytes);
  const out: string[] = [];
  try {
    const code = await resumeLocal(file, "B", { out: (l) => void out.push(l), note: () => undefined });
    return { code, out };
  } catch (e) {
    return { refused: e as Error };
  }
}

/** The same through the real command line: exit 2, one line on stderr, no stack trace. */
async function refusedByCli(bytes: Buffer, pattern: RegExp): Promise<void> {
  const file = join(dir, "cli.snap");
  writeFileSync(file, bytes);
  const r = await migrant(["resume", file]);
  expect(r.code, r.stderr).toBe(2);
  expect(lines(r.stderr), r.stderr).toHaveLength(1);
  expect(r.stderr).toMatch(pattern);
  expect(r.stderr).not.toMatch(/^\s+at |internal error/m);
  expect(r.stdout).toBe("");
}

let counter: Buffer;
let strings: Buffer;
let ring: Buffer;
/** what resuming the unedited counter snapshot prints */
let reference: string[];
const PENDING = ["a line not yet delivered"];

beforeAll(async () => {
  const c = guest("counter");
  counter = await snapshotOf(await guestImage(c), ["6"], 230, PENDING);
  strings = await snapshotOf(await guestImage(guest("strings")), guest("strings").args, 100);
  // a ring of one, frozen with its sends and receives under way: a mailbox with something in it
  ring = await snapshotOf(await guestImage(guest("token-ring")), ["0", "1", "100000", "0"], 300);
  const r = await resume(counter);
  if ("refused" in r) throw r.refused;
  expect(r.code).toBe(0);
  reference = r.out;
  expect(reference.slice(0, 1)).toEqual(PENDING);
  expect(reference.length).toBeGreaterThan(2);
});

const header = (r: RawSnapshot) =>
  r.header as { state: { globals: Record<string, unknown>; mail: Record<string, unknown> } } & Record<string, unknown>;

/** Edits of the counter snapshot that must each be refused, with what the refusal must say. */
const EDITS: Array<[string, (r: RawSnapshot) => void, RegExp]> = [
  ["pendingOutput not an array", (r) => (r.header.pendingOutput = "nonsense"), /header pendingOutput: expected an array/],
  ["memoryPages 70000", (r) => (r.header.memoryPages = 70000), /header memoryPages: expected a whole number of Wasm pages from 1 to 65536/],
  ["memoryPages -5", (r) => (r.header.memoryPages = -5), /header memoryPages: expected/],
  [
    "memoryPages above the module's maximum",
    (r) => (r.header.memoryPages = 20000),
    /its memory is 20000 Wasm pages; the module's is 14 to 16384/,
  ],
  ["memoryPages below the module's minimum", (r) => (r.header.memoryPages = 3), /its memory is 3 Wasm pages; the module's is 14 to/],
  [
    "a page past the end of the memory",
    (r) => r.indices.writeUInt32LE(14 * 16 + 5, r.indices.length - 4),
    /page 229 is outside the guest's memory/,
  ],
  [
    "a page in the host's reserved region",
    (r) => r.indices.writeUInt32LE(3, 0),
    /page 3 is outside the guest's memory \(pages 208 to 223\)/,
  ],
  ["a page table out of order", (r) => r.indices.writeUInt32LE(r.indices.readUInt32LE(0), 4), /not in ascending order/],
  [
    "a page region truncated by a page",
    (r) => (r.data = r.data.subarray(0, r.data.length - 4096)),
    /truncated or corrupted \(the file ends inside its pages\)/,
  ],
  ["a page count one too many", (r) => (r.count += 1), /truncated or corrupted/],
  [
    "pages of another size",
    (r) => ((r.pageSize = 1024), (r.data = r.data.subarray(0, r.count * 1024))),
    /pages hold \d+ bytes; the module's pages are 4096 bytes each/,
  ],
  [
    "an Asyncify stack bigger than the module's buffer",
    (r) => ((r.header.state as { asyncUsed: number }).asyncUsed = 300_000),
    /its stack is 300000 bytes; the module's Asyncify buffer holds 262144/,
  ],
  [
    "an Asyncify stack shorter than its state says",
    (r) => (r.asyncify = r.asyncify.subarray(0, 8)),
    /uses \d+ bytes of Asyncify buffer but the file holds 8/,
  ],
  [
    "a global of the wrong type (a string)",
    (r) => (header(r).state.globals.__migrant_g0 = "abc"),
    /header state\.globals\.__migrant_g0: expected a number/,
  ],
  [
    "a global of the wrong type (i32 out of range)",
    (r) => (header(r).state.globals.__migrant_g0 = 2 ** 40),
    /global __migrant_g0 is 1099511627776, not a value of type i32/,
  ],
  [
    "a global of the wrong type (a fraction)",
    (r) => (header(r).state.globals.__migrant_g1 = 1.5),
    /global __migrant_g1 is 1\.5, not a value of type i32/,
  ],
  ["a global missing", (r) => delete header(r).state.globals.__migrant_g3, /global __migrant_g3 is missing/],
  ["a global the module does not have", (r) => (header(r).state.globals.__evil = 1), /global "__evil" is not one of the module's/],
  [
    "a phase that is none",
    (r) => ((r.header.state as { phase: string }).phase = "middle"),
    /header state\.phase: expected one of start, main/,
  ],
  ["a sleep of -7 ms", (r) => ((r.header.state as { sleepRemaining: number }).sleepRemaining = -7), /header state\.sleepRemaining/],
  ["a sleep of 100 years", (r) => ((r.header.state as { sleepRemaining: number }).sleepRemaining = 3.2e12), /header state\.sleepRemaining/],
  [
    "a received message the mailbox never numbered",
    (r) => (header(r).state.mail.received = 5),
    /the guest received message 5, but the mailbox has numbered only 0/,
  ],
  ["a module hash that is not one", (r) => (r.header.module = "abc"), /header module: expected a SHA-256/],
  ["a header that is not an object", (r) => (r.header = "{" as never), /header: expected an object/],
  ["snapshot format 2", (r) => (r.version = 2), /is snapshot format 2, written by an older migrant; this one reads format 3/],
];

describe("a snapshot edited and re-checksummed", () => {
  it("is refused field by field, with a message that says which (library)", async () => {
    for (const [what, edit, message] of EDITS) {
      const r = await resume(edited(counter, edit));
      expect("refused" in r, what).toBe(true);
      const e = (r as { refused: Error }).refused;
      expect(e, what).toBeInstanceOf(SnapshotFormatError);
      expect(e.message, what).toMatch(message);
      expect(e.message, what).not.toContain("\n");
    }
  });

  it("is refused by `migrant resume` with exit code 2 and one line, never a stack trace", async () => {
    for (const [, edit, message] of EDITS.filter((_, i) => i % 3 === 0)) await refusedByCli(edited(counter, edit), message);
  });

  it("is refused when its state is of another module: the module inside is not the one the header names", async () => {
    const other = split(strings).image;
    const mixed = edited(counter, (r) => (r.image = other));
    const taken = createHash("sha256").update(split(counter).image).digest("hex").slice(0, 12);
    const inside = createHash("sha256").update(other).digest("hex").slice(0, 12);
    const said = new RegExp(`was taken of module ${taken}, not of the module ${inside} inside it`);
    const r = await resume(mixed);
    expect("refused" in r && r.refused.message).toMatch(said);
    await refusedByCli(mixed, said);
  });

  it("refuses a mailbox that does not fit the guest's cursor", async () => {
    const mail = (r: RawSnapshot) => r.header.mail as Record<string, unknown>;
    const cases: Array<[(r: RawSnapshot) => void, RegExp]> = [
      [(r) => (mail(r).sid = "not hex"), /header mail\.sid: expected a sender id/],
      [(r) => (mail(r).next = 0), /header mail\.next: expected a whole number >= 1/],
      [(r) => (mail(r).inbox = [{ i: 9_999_999, from: "A.1", data: "" }]), /mailbox inbox: message 9999999 is out of order/],
      [(r) => (mail(r).inbox = [{ i: 1, from: "A.1", data: "not base64!" }]), /header mail\.inbox\.0\.data: expected base64 data/],
      [
        (r) => (mail(r).pending = { n: 12345, to: "A.1", data: "", result: null }),
        /the send under way is number 12345, but the guest completed \d+/,
      ],
      [(r) => (mail(r).name = "A.1"), /header mail\.name: expected a registered name/],
      [(r) => (mail(r).holders = "B"), /header mail\.holders: expected an array/],
    ];
    for (const [edit, message] of cases) {
      const r = await resume(edited(ring, edit));
      expect("refused" in r && r.refused.message, String(message)).toMatch(message);
    }
  });
});

/** The paths of the counter snapshot's header that an edit may hit. */
function headerPaths(b: Buffer): string[] {
  const out: string[] = [];
  const walk = (v: unknown, path: string) => {
    if (path) out.push(path);
    if (typeof v === "object" && v !== null) for (const [k, x] of Object.entries(v)) walk(x, path ? `${path}.${k}` : k);
  };
  walk(split(b).header, "");
  return [...out, "extra", "state.extra", "mail.extra"];
}

const I32 = 2 ** 31;
/**
 * Values an edit may put at `path`, other than those the guest would act on
 * as legitimately as on its page data (another phase, another value of a
 * global, another wait): a valid-looking edit of those changes what runs.
 */
const harmless = (path: string, v: unknown): boolean => {
  if (path === "state.phase") return v !== "start";
  if (path.startsWith("state.globals.")) return !(typeof v === "number" && Number.isInteger(v) && v >= -I32 && v < I32);
  if (path === "state.sleepRemaining") return !(typeof v === "number" && (v === -1 || v > 200));
  return true;
};

const VALUE = fc.oneof(
  fc.constantFrom(undefined, null, -5, -1, 0, 1, 1.5, 70000, 2 ** 31, 2 ** 32, 1e300, "", "x", "-0", "NaN", true, [], {}, ["a"], [1], {
    i: 1,
  }),
  fc.integer(),
  fc.double({ noNaN: true }),
  fc.string({ maxLength: 12 }),
  fc.jsonValue({ maxDepth: 2 }),
);

/** The structure words after the header: module, Asyncify and page-table lengths (offsets from the header's end). */
const WORDS = ["module length", "Asyncify length", "page count", "page size"] as const;

interface Edit {
  path: string | null;
  value: unknown;
  word: (typeof WORDS)[number] | null;
  n: number;
}

function applyEdit(e: Edit): { bytes: Buffer; pending: unknown } {
  let pending: unknown = PENDING;
  const bytes = edited(counter, (r) => {
    if (e.path) setPath(r.header, e.path, e.value);
    pending = r.header.pendingOutput;
    if (e.word === "module length") r.image = e.n < r.image.length ? r.image.subarray(0, e.n) : r.image;
    if (e.word === "Asyncify length")
      r.asyncify =
        e.n < r.asyncify.length
          ? r.asyncify.subarray(0, e.n)
          : Buffer.concat([r.asyncify, Buffer.alloc(Math.min(e.n - r.asyncify.length, 4096))]);
    if (e.word === "page count") r.count = e.n;
    if (e.word === "page size") r.pageSize = e.n;
  });
  return { bytes, pending };
}

describe("random edits of a real snapshot (fast-check)", () => {
  const paths = () => headerPaths(counter);
  const edit = () =>
    fc.oneof(
      fc
        .record({ path: fc.constantFrom(...paths()), value: VALUE, word: fc.constant(null), n: fc.constant(0) })
        .filter((e) => harmless(e.path, e.value)),
      fc.record({
        path: fc.constant(null),
        value: fc.constant(null),
        word: fc.constantFrom(...WORDS),
        n: fc.oneof(fc.nat(), fc.constantFrom(0, 1, 4, 1024, 4095, 4096, 2 ** 32 - 1)),
      }),
    ) as fc.Arbitrary<Edit>;

  it("either refuses the file with one clean line, or resumes it to the unedited file's output", async () => {
    let refused = 0;
    let ran = 0;
    await fc.assert(
      fc.asyncProperty(edit(), async (e) => {
        const { bytes, pending } = applyEdit(e);
        const r = await resume(bytes);
        if ("refused" in r) {
          refused++;
          expect(r.refused).toBeInstanceOf(MigrantError);
          expect(r.refused).toBeInstanceOf(SnapshotFormatError);
          expect(r.refused.message).not.toContain("\n");
          return;
        }
        ran++;
        expect(r.code).toBe(0);
        // the lines not yet delivered are what the file says; the guest's own output is the same
        expect(r.out).toEqual([...(pending as string[]), ...reference.slice(PENDING.length)]);
      }),
      { numRuns: 40 },
    );
    console.log(`random edits: ${refused} refused, ${ran} resumed to the same output`);
    expect(refused).toBeGreaterThan(10);
  }, 60_000);

  it("and `migrant resume` exits 2 with one line and no stack trace for any it refuses", async () => {
    await fc.assert(
      fc.asyncProperty(edit(), async (e) => {
        const { bytes } = applyEdit(e);
        const lib = await resume(bytes, "cli-random.snap");
        const r = await migrant(["resume", join(dir, "cli-random.snap")]);
        expect(r.stderr).not.toMatch(/^\s+at |internal error/m);
        if ("refused" in lib) {
          expect(r.code, r.stderr).toBe(2);
          expect(lines(r.stderr)).toEqual([`migrant: ${lib.refused.message}`]);
        } else expect(r.code, r.stderr).toBe(0);
      }),
      { numRuns: 5 },
    );
  }, 60_000);
});

it("the helper reads back what the codec wrote", () => {
  const r = split(counter);
  expect(r.version).toBe(3);
  expect(r.header.pendingOutput).toEqual(PENDING);
  expect(edited(counter, () => undefined).equals(counter)).toBe(true);
});
