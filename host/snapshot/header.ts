// The JSON header of a snapshot file and the shape it is checked against when
// read (net/shape.ts): every field's type, and the bounds that hold whatever
// the module (sizes, counts, lengths). What depends on the module (memory
// size, globals, the Asyncify buffer) is checked after, in check.ts.

import { array, boolean, count, nullable, number, object, oneOf, record, string, ShapeError, type Shape } from "../net/shape.js";
import type { MailState } from "../messaging/process-mail.js";
import { FLOAT_NAMES, I64_TEXT, type FrozenState, type GlobalValue } from "../worker/messages.js";
import type { Snapshot } from "./snapshot.js";
import { validName } from "../messaging/addresses.js";

/** What a snapshot's JSON header holds: the snapshot but its bulk parts, and the SHA-256 (hex) of the module inside the file. */
export type Header = Omit<Snapshot, "image" | "asyncify" | "pages"> & { module: string };

/** The most Wasm pages a 32-bit memory has (4 GiB). */
const MAX_WASM_PAGES = 65536;
/** Sanity bounds on what a snapshot lists: far above what a process makes, far below what would hurt. */
export const LIMITS = { args: 10_000, pendingLines: 10_000, inbox: 100_000, senders: 100_000, holders: 10_000, id: 256 };
/** A wait's remainder is at most what an i32 millisecond argument asks. */
const MAX_WAIT_MS = 2 ** 31 - 1;

const check = <T>(base: Shape<T>, expected: string, ok: (v: T) => boolean): Shape<T> => ({
  check(v, path) {
    const x = base.check(v, path);
    if (!ok(x)) throw new ShapeError(path, expected, v);
    return x;
  },
});

/** A string of 1..max characters without control characters. */
const text = (max: number) =>
  check(
    string,
    `a string of 1 to ${max} printable characters`,
    (s) => s.length >= 1 && s.length <= max && ![...s].some((c) => c < " " || c === "\x7f"),
  );
/** Any string of at most max characters ("" allowed). */
const short = (max: number) => check(string, `a string of at most ${max} characters`, (s) => s.length <= max);
/** An array of at most max items. */
function list<T>(item: Shape<T>, max: number): Shape<T[]> {
  const all = array(item);
  return {
    check(v, path) {
      if (Array.isArray(v) && v.length > max) throw new ShapeError(path, `an array of at most ${max} items`, v);
      return all.check(v, path);
    },
  };
}
const base64 = check(string, "base64 data", (s) => s.length % 4 === 0 && /^[A-Za-z0-9+/]*={0,2}$/.test(s));
const id = text(LIMITS.id);

/** A global's value: a number, an i64 as a decimal string, or a float JSON cannot carry by its name (its type is checked in check.ts). */
const GLOBAL_VALUE: Shape<GlobalValue> = {
  check(v, path) {
    if (typeof v === "number" && Number.isFinite(v)) return v;
    if (typeof v === "string" && (I64_TEXT.test(v) || FLOAT_NAMES.includes(v))) return v;
    throw new ShapeError(path, "a number, a decimal string, or NaN, Infinity, -Infinity, -0", v);
  },
};

const STATE: Shape<FrozenState> = object({
  phase: oneOf(["start", "main"] as const),
  globals: record(GLOBAL_VALUE),
  asyncUsed: check(count, "a whole number > 0 (a frozen guest has a stack)", (n) => n > 0),
  sleepRemaining: nullable(
    check(number({ min: -1 }), `-1 (no timeout) or 0 to ${MAX_WAIT_MS} ms`, (n) => n === -1 || (n >= 0 && n <= MAX_WAIT_MS)),
  ),
  mail: object({ received: count, sent: count, sender: short(LIMITS.id) }),
});

const MAIL: Shape<MailState> = object({
  sid: check(string, "a sender id (32 hex digits)", (s) => /^[0-9a-f]{32}$/.test(s)),
  next: check(count, "a whole number >= 1", (n) => n >= 1),
  inbox: list(object({ i: check(count, "a whole number >= 1", (n) => n >= 1), from: short(LIMITS.id), data: base64 }), LIMITS.inbox),
  seen: check(record(check(count, "a whole number >= 1", (n) => n >= 1)), `at most ${LIMITS.senders} senders`, (r) => {
    const keys = Object.keys(r);
    return keys.length <= LIMITS.senders && keys.every((k) => k.length >= 1 && k.length <= LIMITS.id);
  }),
  pending: nullable(
    object({ n: check(count, "a whole number >= 1", (n) => n >= 1), to: short(LIMITS.id), data: base64, result: nullable(boolean) }),
  ),
  holders: list(id, LIMITS.holders),
  name: nullable(check(string, "a registered name (1-64 printable characters, not a pid)", validName)),
});

const FIELDS = {
  module: check(string, "a SHA-256 (64 hex digits)", (s) => /^[0-9a-f]{64}$/.test(s)),
  pid: id,
  node: id,
  args: list(short(1 << 20), LIMITS.args),
  pendingOutput: list(string, LIMITS.pendingLines),
  state: STATE,
  memoryPages: check(count, `a whole number of Wasm pages from 1 to ${MAX_WASM_PAGES}`, (n) => n >= 1 && n <= MAX_WASM_PAGES),
  mail: MAIL,
};
/** The fields' shapes make a Header (a compile-time check that they cover its type). */
export const HEADER: Shape<Header> = object(FIELDS);

/** A header read from a file, checked: a ShapeError's path names the field ("mail.inbox", not "header.mail.inbox"). */
export function checkHeader(v: unknown): Header {
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw new ShapeError("header", "an object", v);
  const fields = v as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [k, s] of Object.entries(FIELDS)) out[k] = s.check(fields[k], k);
  return out as unknown as Header;
}

export function headerOf(s: Snapshot, moduleHash: string): Header {
  return {
    module: moduleHash,
    pid: s.pid,
    node: s.node,
    args: s.args,
    pendingOutput: s.pendingOutput,
    state: s.state,
    memoryPages: s.memoryPages,
    mail: s.mail,
  };
}
