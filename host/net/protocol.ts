// The wire protocol: one binary frame format for every link (node-node and
// client-node), control messages and bulk data alike.
//
//   u8   version   PROTOCOL_VERSION; anything else is refused
//   u8   type      index into MESSAGES
//   u32  length    of the payload that follows; must be exactly what is left
//   ...  payload   the type's fields, in schema order:
//          u32, i32, f64    little-endian
//          str              u32 byte length + UTF-8 (must be valid)
//          bytes            u32 byte length + raw bytes
//          json             u32 byte length + UTF-8 JSON (must parse)
//
// Encoding and decoding walk the same schema, so they are symmetric. The
// decoder checks every length against the bytes left before it reads, and
// throws a ProtocolError naming what was wrong (truncated, wrong version,
// unknown type, a length that lies, oversized, a bad field); the caller closes
// or answers that one link and nothing else is affected.

export const PROTOCOL_VERSION = 1;
const HEADER = 6;

type Kind = "u32" | "i32" | "f64" | "str" | "bytes" | "json";

/** Message types and their fields, in wire order. Append only: the index is the type byte. */
export const SCHEMAS = {
  challenge: [
    ["node", "str"],
    ["nonce", "bytes"],
  ],
  auth: [
    ["role", "str"],
    ["name", "str"],
    ["proof", "bytes"],
    ["nonce", "bytes"],
  ],
  welcome: [
    ["node", "str"],
    ["proof", "bytes"],
  ],
  refused: [["reason", "str"]],
  join: [
    ["name", "str"],
    ["url", "str"],
  ],
  members: [["list", "json"]],
  heartbeat: [
    ["name", "str"],
    ["state", "json"],
  ],
  bye: [["reason", "str"]],
  run: [
    ["req", "u32"],
    ["hash", "str"],
    ["module", "str"],
    ["args", "json"],
    ["detach", "u32"],
  ],
  needModule: [
    ["req", "u32"],
    ["hash", "str"],
  ],
  module: [
    ["req", "u32"],
    ["hash", "str"],
    ["bytes", "bytes"],
  ],
  started: [
    ["req", "u32"],
    ["pid", "str"],
  ],
  output: [
    ["pid", "str"],
    ["seq", "u32"],
    ["line", "str"],
  ],
  exited: [
    ["pid", "str"],
    ["code", "i32"],
    ["error", "str"],
  ],
  attach: [
    ["req", "u32"],
    ["pid", "str"],
    ["from", "u32"],
  ],
  kill: [
    ["req", "u32"],
    ["pid", "str"],
  ],
  psRequest: [["req", "u32"]],
  ps: [
    ["req", "u32"],
    ["list", "json"],
  ],
  nodesRequest: [["req", "u32"]],
  nodes: [
    ["req", "u32"],
    ["list", "json"],
  ],
  error: [
    ["req", "u32"],
    ["message", "str"],
  ],
  // live migration: client -> source node
  migrate: [
    ["req", "u32"],
    ["pid", "str"],
    ["to", "str"],
    ["options", "json"],
  ],
  migrateCancel: [
    ["req", "u32"],
    ["pid", "str"],
  ],
  migProgress: [
    ["req", "u32"],
    ["progress", "json"],
  ],
  migResult: [
    ["req", "u32"],
    ["stats", "json"],
  ],
  /** to the watchers of a process that has moved: follow it there */
  moved: [
    ["pid", "str"],
    ["node", "str"],
    ["url", "str"],
  ],
  // live migration: source node <-> destination node
  migBegin: [
    ["mid", "u32"],
    ["pid", "str"],
    ["module", "str"],
    ["hash", "str"],
    ["info", "json"],
  ],
  migAccept: [["mid", "u32"]],
  migRefuse: [
    ["mid", "u32"],
    ["reason", "str"],
  ],
  migPages: [
    ["mid", "u32"],
    ["indices", "bytes"],
    ["data", "bytes"],
    ["crc", "u32"],
  ],
  // absent pages: the list, plus every page of [absentFrom, absentTo) (post-copy hands over a range, never a list)
  migHandover: [
    ["mid", "u32"],
    ["state", "json"],
    ["asyncify", "bytes"],
    ["memoryPages", "u32"],
    ["absent", "bytes"],
    ["absentFrom", "u32"],
    ["absentTo", "u32"],
  ],
  migResumed: [
    ["mid", "u32"],
    ["at", "f64"],
  ],
  migFault: [
    ["mid", "u32"],
    ["page", "u32"],
  ],
  migDone: [
    ["mid", "u32"],
    ["stats", "json"],
  ],
  migAbort: [
    ["mid", "u32"],
    ["reason", "str"],
  ],
  // pre-copy, before its stop: has the destination installed everything sent so far?
  migSync: [["mid", "u32"]],
  migSynced: [["mid", "u32"]],
} as const satisfies Record<string, ReadonlyArray<readonly [string, Kind]>>;

type Schemas = typeof SCHEMAS;
export type MessageType = keyof Schemas;
type KindType<K extends Kind> = K extends "u32" | "i32" | "f64"
  ? number
  : K extends "str"
    ? string
    : K extends "bytes"
      ? Uint8Array
      : unknown;
type Fields<S extends ReadonlyArray<readonly [string, Kind]>> = {
  [F in S[number] as F[0]]: KindType<F[1]>;
};
export type Message = { [T in MessageType]: { t: T } & Fields<Schemas[T]> }[MessageType];
export type MessageOf<T extends MessageType> = Extract<Message, { t: T }>;

export const MESSAGE_TYPES = Object.keys(SCHEMAS) as MessageType[];

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

export function encode(msg: Message): Buffer {
  const schema = SCHEMAS[msg.t] as ReadonlyArray<readonly [string, Kind]>;
  const parts: Buffer[] = [];
  const record = msg as unknown as Record<string, unknown>;
  for (const [name, kind] of schema) {
    const v = record[name];
    switch (kind) {
      case "u32":
      case "i32":
      case "f64": {
        const b = Buffer.alloc(kind === "f64" ? 8 : 4);
        if (kind === "u32") b.writeUInt32LE(v as number);
        else if (kind === "i32") b.writeInt32LE(v as number);
        else b.writeDoubleLE(v as number);
        parts.push(b);
        break;
      }
      default: {
        const raw =
          kind === "bytes"
            ? Buffer.from(v as Uint8Array)
            : Buffer.from(utf8.encode(kind === "json" ? JSON.stringify(v ?? null) : (v as string)));
        const len = Buffer.alloc(4);
        len.writeUInt32LE(raw.length);
        parts.push(len, raw);
      }
    }
  }
  const payload = Buffer.concat(parts);
  const head = Buffer.alloc(HEADER);
  head.writeUInt8(PROTOCOL_VERSION, 0);
  head.writeUInt8(MESSAGE_TYPES.indexOf(msg.t), 1);
  head.writeUInt32LE(payload.length, 2);
  return Buffer.concat([head, payload]);
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
  for (const [name, kind] of SCHEMAS[type] as ReadonlyArray<readonly [string, Kind]>) {
    if (kind === "u32" || kind === "i32" || kind === "f64") {
      const n = kind === "f64" ? 8 : 4;
      need(n, name);
      out[name] = kind === "u32" ? b.readUInt32LE(at) : kind === "i32" ? b.readInt32LE(at) : b.readDoubleLE(at);
      at += n;
      continue;
    }
    need(4, name);
    const len = b.readUInt32LE(at);
    at += 4;
    need(len, name);
    const raw = b.subarray(at, at + len);
    at += len;
    if (kind === "bytes") {
      out[name] = new Uint8Array(raw);
      continue;
    }
    let text: string;
    try {
      text = strictUtf8.decode(raw);
    } catch {
      throw new ProtocolError("field", `${type}.${name} is not valid UTF-8`);
    }
    if (kind === "str") out[name] = text;
    else {
      try {
        out[name] = JSON.parse(text);
      } catch {
        throw new ProtocolError("field", `${type}.${name} is not valid JSON`);
      }
    }
  }
  if (at !== b.length) throw new ProtocolError("length", `${type} frame has ${b.length - at} bytes after its last field`);
  return out as Message;
}
