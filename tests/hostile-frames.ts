// Well-formed frames with hostile values, for the hostile-value property test:
// any message type, each field of its kind holding what a broken or malicious
// peer might put there (numbers at their limits, page indices near 2^32, empty
// and very long strings, pids of nobody, random bytes), and each JSON field a
// value its shape accepts (so that the frame decodes and reaches the handler)
// holding nonsense. Some values are decided when the frame is sent: the id of
// the migration opened for the batch (OPEN), and a batch's valid CRC.

import fc from "fast-check";
import { crc32 } from "node:zlib";
import { MESSAGES, MESSAGE_TYPES, type Message, type MessageType } from "../host/net/protocol.js";
import type { Field, JsonField } from "../host/net/fields.js";
import { PAYLOADS } from "./payloads.js";

/** The id of the migration the test opened on the node for this batch. */
export const OPEN = "<open mid>";
/** The CRC-32 that makes a migPages batch pass its checksum. */
const VALID_CRC = "<valid crc>";
/** As many pages of data as the batch has indices. */
const PAGES = "<pages>";

export interface SendContext {
  openMid: number;
  pageSize: number;
}

export interface FrameSpec {
  t: MessageType;
  fields: Record<string, unknown>;
}

const fieldsOf = (t: MessageType) => Object.entries(MESSAGES[t]) as Array<[string, Field]>;

const LONG = "w".repeat(1 << 20);
const u32 = fc.oneof(
  fc.constantFrom(0, 1, 2, 3, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff, 0x00ffffff, 70000),
  fc.integer({ min: 0, max: 0xffffffff }),
);
const i32 = fc.oneof(fc.constantFrom(-0x80000000, -1, 0, 0x7fffffff), fc.integer({ min: -0x80000000, max: 0x7fffffff }));
const f64 = fc.oneof(fc.constantFrom(NaN, Infinity, -Infinity, -0, 1e308, -1e308, Number.MIN_VALUE, 2 ** 53), fc.double());
/** page indices: the module's guest pages start at 208 and end at 262144 (4 KiB pages, 1 GiB) */
const pageIndex = fc.oneof(fc.constantFrom(0, 207, 208, 262143, 262144, 0x00ffffff, 0xfffffffc, 0xffffffff), fc.nat());
const indices = fc.array(pageIndex, { maxLength: 12 }).map((ps) => new Uint8Array(Uint32Array.from(ps).buffer));
const bytes = fc.oneof(
  fc.uint8Array({ maxLength: 64 }),
  indices,
  fc.constantFrom(new Uint8Array(0), new Uint8Array(3), new Uint8Array(4096), new Uint8Array(1 << 20)),
);

/** Strings: the node's own names and pids among them, so that some hostile frames name real things. */
function strings(known: string[]): fc.Arbitrary<string> {
  return fc.oneof(
    fc.constantFrom("", "A", "X.1", "A.999999999999999", "ghost.1", "client-x", "\u0000", "💥".repeat(300), LONG, ...known),
    fc.string({ maxLength: 40 }),
    fc.string({ unit: "binary", maxLength: 40 }),
  );
}

/** A value its shape accepts: from tests/payloads.ts, or a real one with a few leaves replaced (each kept only if the shape still accepts it). */
function json(t: MessageType, name: string, field: JsonField<unknown>, templates: Record<string, unknown>): fc.Arbitrary<unknown> {
  const template = templates[`${t}.${name}`];
  const accepted = (v: unknown) => {
    try {
      return field.shape.check(JSON.parse(JSON.stringify(v)), name);
    } catch {
      return undefined;
    }
  };
  const random = (PAYLOADS[`${t}.${name}`] ?? fc.constant(template)).map((v) => accepted(v) ?? template);
  if (template === undefined) return random;
  const leaf = fc.oneof(
    fc.constantFrom(0, -1, 0.5, 1e308, 2 ** 32, 2 ** 53, 70000, 0x00ffffff, "", "A.1", null, true, [], {}),
    fc.string({ maxLength: 12 }),
  );
  const edited = fc.array(fc.tuple(fc.nat(), leaf), { maxLength: 4 }).map((edits) => {
    let v = structuredClone(template);
    for (const [i, x] of edits) {
      const paths = leaves(v);
      if (!paths.length) break;
      const next = structuredClone(v);
      setAt(next, paths[i % paths.length], x);
      const ok = accepted(next);
      if (ok !== undefined) v = ok;
    }
    return v;
  });
  return fc.oneof(random, edited);
}

type Path = Array<string | number>;

function leaves(v: unknown, at: Path = []): Path[] {
  if (v === null || typeof v !== "object") return [at];
  const entries = Object.entries(v as Record<string, unknown>);
  return entries.length ? entries.flatMap(([k, x]) => leaves(x, [...at, Array.isArray(v) ? Number(k) : k])) : [at];
}

function setAt(root: unknown, path: Path, x: unknown): void {
  if (!path.length) return;
  let o = root as Record<string | number, unknown>;
  for (const k of path.slice(0, -1)) o = o[k] as Record<string | number, unknown>;
  o[path[path.length - 1]] = x;
}

function fieldArb(t: MessageType, name: string, f: Field, templates: Record<string, unknown>, known: string[]): fc.Arbitrary<unknown> {
  if (t === "migPages" && name === "crc") return fc.oneof(fc.constant(VALID_CRC), fc.constant(VALID_CRC), u32);
  if (t === "migPages" && name === "data") return fc.oneof(fc.constant(PAGES), fc.constant(new Uint8Array(0)), bytes);
  if (t === "migPages" && name === "indices") return indices;
  if (t === "migPages" && name === "enc") return fc.oneof(fc.constant(0), fc.constant(1), u32);
  switch (f.kind) {
    case "u32":
      return name === "mid" || name === "req" ? fc.oneof(fc.constant(OPEN), u32) : u32;
    case "i32":
      return i32;
    case "f64":
      return f64;
    case "str":
      return strings(known);
    case "bytes":
      return bytes;
    case "json":
      return json(t, name, f, templates);
  }
}

/** A frame of any message type with hostile values (`known`: names and pids of the node, for some to hit). */
export function hostileFrame(templates: Record<string, unknown>, known: string[]): fc.Arbitrary<FrameSpec> {
  return fc.oneof(
    ...MESSAGE_TYPES.map((t) => {
      const fields = fieldsOf(t);
      return fc.tuple(...fields.map(([name, f]) => fieldArb(t, name, f, templates, known))).map((values) => ({
        t,
        fields: Object.fromEntries(fields.map(([name], i) => [name, values[i]])),
      }));
    }),
  );
}

/** The message a spec stands for, its send-time values filled in. */
export function resolve(spec: FrameSpec, c: SendContext): Message {
  const m: Record<string, unknown> = { t: spec.t };
  for (const [k, v] of Object.entries(spec.fields)) m[k] = v === OPEN ? c.openMid : v;
  if (m.data === PAGES) m.data = new Uint8Array(Math.floor((m.indices as Uint8Array).length / 4) * c.pageSize).fill(0xab);
  if (m.crc === VALID_CRC) m.crc = crc32(m.data as Uint8Array, crc32(m.indices as Uint8Array));
  return m as Message;
}

/** A short description of a frame for a failure message. */
export const describeFrame = (m: Message): string =>
  JSON.stringify(m, (_k, v: unknown) =>
    typeof v === "string" && v.length > 60 ? `${v.slice(0, 60)}...(${v.length})` : v instanceof Uint8Array ? `<${v.length} bytes>` : v,
  );
