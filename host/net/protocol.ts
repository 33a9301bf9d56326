// The wire protocol: one binary frame format for every link (node-node and
// client-node), control messages and bulk data alike.
//
//   u8   version   PROTOCOL_VERSION; anything else is refused
//   u8   type      index into MESSAGES (messages.ts)
//   u32  length    of the payload that follows; must be exactly what is left
//   ...  payload   the type's fields, in table order:
//          u32, i32, f64    little-endian
//          str              u32 byte length + UTF-8 (must be valid)
//          bytes            u32 byte length + raw bytes
//          json             u32 byte length + UTF-8 JSON (must parse, and fit its shape)
//
// Encoding and decoding walk the same table, so they are symmetric. The
// decoder checks every length against the bytes left before it reads, and
// every JSON field against its shape, and throws a ProtocolError naming what
// was wrong (truncated, wrong version, unknown type, a length that lies,
// oversized, a bad field); the caller closes that one link and nothing else is
// affected. A decoded message is therefore of its declared type throughout.

import { MESSAGES, MESSAGE_TYPES, type Message } from "./messages.js";
import type { Field } from "./fields.js";
import { ShapeError, type Shape } from "./shape.js";

export { MESSAGES, MESSAGE_TYPES, type Message, type MessageOf, type MessageType } from "./messages.js";

/**
 * 2: error frames carry a code; procsQuery/procsReply; JSON fields have shapes.
 * 3: messages between processes (mail ... sendResult); join says its forwarding mode, members the pid counter.
 * 4: heartbeats and nodes carry the event-loop delay (loopMs).
 * 5: heartbeats, nodes and ps carry CPU capacity, demand and use (cpus, demand, cpu); join carries the balance
 *    mode and threshold, heartbeats and nodes the balancer's state and counters (balance); the balancer's
 *    messages (balanceProbe ... balanceEnd) and its dry-run (balanceRequest, balancePlan).
 * 6: migration statistics carry the pauses the guest saw (downtime on one clock, handoverMs, switchMs, switchBackPauseMs,
 *    pausesMs); migDone carries switchBackPauseMs and comes once the arrival is back in plain.
 * 7: post-copy's push window: the destination acknowledges each page batch it installed (migInstalled); migration
 *    requests carry throttle (auto-converge), their statistics throttlePct and throttledMs.
 */
export const PROTOCOL_VERSION = 8;
const HEADER = 6;
/** A bytes field at least this long is decoded as a view into its frame rather than copied. */
const VIEW_BYTES = 64 * 1024;
const NUMBER_BYTES = { u32: 4, i32: 4, f64: 8 } as const;

export class ProtocolError extends Error {
  constructor(
    readonly reason: "truncated" | "version" | "type" | "length" | "oversized" | "field",
    message: string,
  ) {
    super(message);
    this.name = "ProtocolError";
  }
}

const utf8 = new TextEncoder();
const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

const fieldsOf = (t: string) => Object.entries(MESSAGES[t as keyof typeof MESSAGES]) as Array<[string, Field]>;

/**
 * Lays a message out in one buffer: each field's bytes are copied once,
 * straight into the frame. `alloc` gives that buffer (a pool's, for bulk data:
 * net/buffer-pool.ts); by default it is a new one.
 */
export function encode(msg: Message, alloc: (n: number) => Buffer = Buffer.allocUnsafe): Buffer {
  const record = msg as unknown as Record<string, unknown>;
  const fields = fieldsOf(msg.t).map(([name, field]) => {
    const v = record[name];
    if (field.kind === "u32" || field.kind === "i32" || field.kind === "f64") return { field, v, size: NUMBER_BYTES[field.kind] };
    const raw = field.kind === "bytes" ? (v as Uint8Array) : utf8.encode(field.kind === "json" ? JSON.stringify(v ?? null) : (v as string));
    return { field, v: raw, size: 4 + raw.length };
  });
  const length = fields.reduce((n, f) => n + f.size, 0);
  const b = alloc(HEADER + length);
  b.writeUInt8(PROTOCOL_VERSION, 0);
  b.writeUInt8(MESSAGE_TYPES.indexOf(msg.t), 1);
  b.writeUInt32LE(length, 2);
  let at = HEADER;
  for (const { field, v } of fields) {
    if (field.kind === "u32") at = b.writeUInt32LE(v as number, at);
    else if (field.kind === "i32") at = b.writeInt32LE(v as number, at);
    else if (field.kind === "f64") at = b.writeDoubleLE(v as number, at);
    else {
      const raw = v as Uint8Array;
      at = b.writeUInt32LE(raw.length, at);
      b.set(raw, at);
      at += raw.length;
    }
  }
  return b;
}

export function decode(data: Uint8Array, maxFrame = Infinity): Message {
  const b = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (b.length > maxFrame) throw new ProtocolError("oversized", `frame of ${b.length} bytes exceeds the limit of ${maxFrame}`);
  if (b.length < HEADER) throw new ProtocolError("truncated", `frame of ${b.length} bytes is shorter than its header`);
  const version = b.readUInt8(0);
  if (version !== PROTOCOL_VERSION) {
    throw new ProtocolError("version", `protocol version ${version}, this node speaks ${PROTOCOL_VERSION}`);
  }
  const type = MESSAGE_TYPES[b.readUInt8(1)];
  if (!type) throw new ProtocolError("type", `unknown message type ${b.readUInt8(1)}`);
  const length = b.readUInt32LE(2);
  if (length !== b.length - HEADER) {
    throw new ProtocolError("length", `${type} frame claims ${length} payload bytes but carries ${b.length - HEADER}`);
  }
  let at = HEADER;
  const need = (n: number, field: string) => {
    if (at + n > b.length) throw new ProtocolError("truncated", `${type}.${field} runs past the end of the frame`);
  };
  const out: Record<string, unknown> = { t: type };
  for (const [name, field] of fieldsOf(type)) {
    if (field.kind === "u32" || field.kind === "i32" || field.kind === "f64") {
      need(NUMBER_BYTES[field.kind], name);
      out[name] = field.kind === "u32" ? b.readUInt32LE(at) : field.kind === "i32" ? b.readInt32LE(at) : b.readDoubleLE(at);
      at += NUMBER_BYTES[field.kind];
      continue;
    }
    need(4, name);
    const len = b.readUInt32LE(at);
    at += 4;
    need(len, name);
    const raw = b.subarray(at, at + len);
    at += len;
    // a large field (page data) is used where it lies in the frame; a small one gets its own buffer, so that
    // posting it to a worker (mail) does not carry the whole socket read with it
    if (field.kind === "bytes") out[name] = len >= VIEW_BYTES ? new Uint8Array(raw.buffer, raw.byteOffset, len) : new Uint8Array(raw);
    else if (field.kind === "str") out[name] = text(raw, type, name);
    else out[name] = shaped(field.shape, text(raw, type, name), type, name);
  }
  if (at !== b.length) throw new ProtocolError("length", `${type} frame has ${b.length - at} bytes after its last field`);
  return out as Message;
}

function text(raw: Buffer, type: string, name: string): string {
  try {
    return strictUtf8.decode(raw);
  } catch {
    throw new ProtocolError("field", `${type}.${name} is not valid UTF-8`);
  }
}

/** A JSON field's value, checked against its shape. */
function shaped(shape: Shape<unknown>, json: string, type: string, name: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    throw new ProtocolError("field", `${type}.${name} is not valid JSON`);
  }
  try {
    return shape.check(value, `${type}.${name}`);
  } catch (e) {
    if (e instanceof ShapeError) throw new ProtocolError("field", e.message);
    throw e;
  }
}
