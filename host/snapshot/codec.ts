// The snapshot file format: versioned, length-checked, checksummed.
//
//   magic    8 bytes  "MIGRSNAP"
//   version  u32      FORMAT (readers refuse any other)
//   header   u32 length + JSON   (module hash, pid, node, args, state, memoryPages, ...)
//   image    u32 length + bytes  (the migratable module, every variant)
//   asyncify u32 length + bytes  (the used part of the Asyncify buffer)
//   pages    u32 count, u32 page size, count x u32 index, count x page bytes
//   crc32    u32      over everything before it
//
// All integers little-endian. Decoding checks every length against what is
// left before reading, then the checksum, so a truncated or bit-flipped file
// is refused with a message that says which, never half-read.
//
// The checksum only says the file is as it was written. What it holds is
// then checked as if it came from elsewhere: the header against its shape
// (every field's type and bounds, header.ts), and the state against the
// module it was taken of (the header names the module by its SHA-256, which
// must be that of the module inside; then check.ts: memory size, pages,
// Asyncify buffer, globals, mailbox). Anything that does not fit is a
// SnapshotFormatError that says what, never a crash of the resume.

import { crc32 } from "node:zlib";
import { createHash } from "node:crypto";
import { SnapshotFormatError } from "../errors.js";
import type { Snapshot } from "./snapshot.js";
import { ShapeError } from "../net/shape.js";
import { checkHeader, headerOf, type Header } from "./header.js";

const MAGIC = Buffer.from("MIGRSNAP", "latin1");
/**
 * 2: the header carries the mailbox (messages queued for the process, its send under way, its name).
 * 3: the header names the module by its SHA-256; every field is checked when read.
 */
export const FORMAT = 3;

const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
/** How a module is named in messages: the first 12 hex digits of its SHA-256. */
export const shortHash = (hash: string) => hash.slice(0, 12);

export function encodeSnapshot(s: Snapshot): Buffer {
  const json = Buffer.from(JSON.stringify(headerOf(s, sha256(s.image))));
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
      throw new SnapshotFormatError(`${this.what} is truncated or corrupted (the file ends inside its ${field})`);
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

const WRITE_ONE = "write one with `migrant run prog.wasm --checkpoint-after MS --to FILE`";

function checkVersion(b: Buffer, what: string): void {
  if (b.length < MAGIC.length + 8 || !b.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw new SnapshotFormatError(`${what} is not a migrant snapshot (${WRITE_ONE})`);
  }
  const version = b.readUInt32LE(MAGIC.length);
  if (version === FORMAT) return;
  if (version < FORMAT) {
    throw new SnapshotFormatError(
      `${what} is snapshot format ${version}, written by an older migrant; this one reads format ${FORMAT}: ` +
        `resume it with the migrant that wrote it, or checkpoint the program again`,
    );
  }
  throw new SnapshotFormatError(`${what} is snapshot format ${version}; this migrant reads format ${FORMAT} (a newer migrant wrote it)`);
}

function parseHeader(json: Buffer, what: string): Header {
  let raw: unknown;
  try {
    raw = JSON.parse(json.toString("utf8"));
  } catch {
    throw new SnapshotFormatError(`${what} is corrupted (unreadable header)`);
  }
  try {
    return checkHeader(raw);
  } catch (e) {
    if (e instanceof ShapeError) throw new SnapshotFormatError(`${what} is corrupted (header ${e.message}); it cannot be resumed`);
    throw e;
  }
}

/**
 * Reads a snapshot file: its structure, checksum, header and module binding.
 * Check it against its module (check.ts) before running it.
 */
export function decodeSnapshot(b: Buffer, what = "snapshot"): Snapshot {
  checkVersion(b, what);
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
  const header = parseHeader(json, what);
  const inside = sha256(image);
  if (inside !== header.module) {
    throw new SnapshotFormatError(
      `${what} was taken of module ${shortHash(header.module)}, not of the module ${shortHash(inside)} inside it ` +
        `(put together from two files, or edited); it cannot be resumed`,
    );
  }
  return {
    image: new Uint8Array(image),
    pid: header.pid,
    node: header.node,
    args: header.args,
    pendingOutput: header.pendingOutput,
    state: header.state,
    memoryPages: header.memoryPages,
    mail: header.mail,
    asyncify: new Uint8Array(asyncify),
    pages: { indices: new Uint32Array(new Uint8Array(indices).buffer), data: new Uint8Array(data) },
  };
}
