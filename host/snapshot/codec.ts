// The snapshot file format: versioned, length-checked, checksummed.
//
//   magic    8 bytes  "MIGRSNAP"
//   version  u32      FORMAT (readers refuse any other)
//   header   u32 length + JSON   (pid, node, args, state, memoryPages, ...)
//   image    u32 length + bytes  (the migratable module, every variant)
//   asyncify u32 length + bytes  (the used part of the Asyncify buffer)
//   pages    u32 count, u32 page size, count x u32 index, count x page bytes
//   crc32    u32      over everything before it
//
// All integers little-endian. Decoding checks every length against what is
// left before reading, then the checksum, so a truncated or bit-flipped file
// is refused with a message that says which, never half-read.

import { crc32 } from "node:zlib";
import { SnapshotFormatError } from "../errors.js";
import type { Snapshot } from "./snapshot.js";
import { MAIL_STATE } from "../messaging/process-mail.js";
import { FROZEN_STATE } from "../worker/messages.js";
import { ShapeError } from "../net/shape.js";

const MAGIC = Buffer.from("MIGRSNAP", "latin1");
/** 2: the header carries the mailbox (messages queued for the process, its send under way, its name). */
export const FORMAT = 2;

interface Header {
  pid: string;
  node: string;
  args: string[];
  pendingOutput: string[];
  state: Snapshot["state"];
  memoryPages: number;
  mail: Snapshot["mail"];
}

export function encodeSnapshot(s: Snapshot): Buffer {
  const header: Header = {
    pid: s.pid,
    node: s.node,
    args: s.args,
    pendingOutput: s.pendingOutput,
    state: s.state,
    memoryPages: s.memoryPages,
    mail: s.mail,
  };
  const json = Buffer.from(JSON.stringify(header));
  const count = s.pages.indices.length;
  const pageSize = count ? s.pages.data.length / count : 0;
  const u32 = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(n);
    return b;
  };
  const parts = [
    MAGIC,
    u32(FORMAT),
    u32(json.length),
    json,
    u32(s.image.length),
    Buffer.from(s.image.buffer, s.image.byteOffset, s.image.byteLength),
    u32(s.asyncify.length),
    Buffer.from(s.asyncify.buffer, s.asyncify.byteOffset, s.asyncify.byteLength),
    u32(count),
    u32(pageSize),
    Buffer.from(s.pages.indices.buffer, s.pages.indices.byteOffset, s.pages.indices.byteLength),
    Buffer.from(s.pages.data.buffer, s.pages.data.byteOffset, s.pages.data.byteLength),
  ];
  const body = Buffer.concat(parts);
  return Buffer.concat([body, u32(crc32(body))]);
}

class Reader {
  private at = 0;
  constructor(
    private b: Buffer,
    private what: string,
  ) {}
  need(n: number, field: string): void {
    if (n < 0 || this.at + n > this.b.length - 4) {
      throw new SnapshotFormatError(`${this.what} is truncated or corrupted (the ${field} runs past the end of the file)`);
    }
  }
  u32(field: string): number {
    this.need(4, field);
    const v = this.b.readUInt32LE(this.at);
    this.at += 4;
    return v;
  }
  bytes(n: number, field: string): Buffer {
    this.need(n, field);
    const v = this.b.subarray(this.at, this.at + n);
    this.at += n;
    return v;
  }
  get left(): number {
    return this.b.length - 4 - this.at;
  }
}

export function decodeSnapshot(b: Buffer, what = "snapshot"): Snapshot {
  if (b.length < MAGIC.length + 8 || !b.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw new SnapshotFormatError(
      `${what} is not a migrant snapshot (write one with \`migrant run prog.wasm --checkpoint-after MS --to FILE\`)`,
    );
  }
  const version = b.readUInt32LE(MAGIC.length);
  if (version !== FORMAT) {
    throw new SnapshotFormatError(`${what} is snapshot format ${version}; this migrant reads format ${FORMAT}`);
  }
  const stored = b.readUInt32LE(b.length - 4);
  const actual = crc32(b.subarray(0, b.length - 4));
  const r = new Reader(b, what);
  r.bytes(MAGIC.length + 4, "magic");
  const json = r.bytes(r.u32("header length"), "header");
  const image = r.bytes(r.u32("module length"), "module");
  const asyncify = r.bytes(r.u32("Asyncify length"), "Asyncify buffer");
  const count = r.u32("page count");
  const pageSize = r.u32("page size");
  const indices = r.bytes(count * 4, "page table");
  const data = r.bytes(count * pageSize, "pages");
  if (r.left !== 0) throw new SnapshotFormatError(`${what} is corrupted (${r.left} unexpected bytes before the checksum)`);
  if (stored !== actual) throw new SnapshotFormatError(`${what} is corrupted (checksum mismatch); it cannot be resumed`);
  let header: Header;
  try {
    header = JSON.parse(json.toString("utf8"));
  } catch {
    throw new SnapshotFormatError(`${what} is corrupted (unreadable header)`);
  }
  let state: Snapshot["state"], mail: Snapshot["mail"];
  try {
    state = FROZEN_STATE.check(header.state, "state");
    mail = MAIL_STATE.check(header.mail, "mail");
  } catch (e) {
    if (e instanceof ShapeError) throw new SnapshotFormatError(`${what} is corrupted (header ${e.message})`);
    throw e;
  }
  return {
    image: new Uint8Array(image),
    pid: header.pid,
    node: header.node,
    args: header.args,
    pendingOutput: header.pendingOutput,
    state,
    memoryPages: header.memoryPages,
    mail,
    asyncify: new Uint8Array(asyncify),
    pages: { indices: new Uint32Array(new Uint8Array(indices).buffer), data: new Uint8Array(data) },
  };
}
