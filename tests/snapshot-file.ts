// A snapshot file taken apart into its fields and put back together with a
// fresh checksum (host/snapshot/codec.ts has the layout): how the tests edit
// a real snapshot the way a probe would, so that the checksum passes and
// only the checks after it stand between the edit and the resume.

import { crc32 } from "node:zlib";

export interface RawSnapshot {
  version: number;
  /** the header, parsed (edit it freely) */
  header: Record<string, unknown>;
  image: Buffer;
  asyncify: Buffer;
  count: number;
  pageSize: number;
  indices: Buffer;
  data: Buffer;
}

/** Takes a well-formed snapshot file apart. */
export function split(b: Buffer): RawSnapshot {
  let at = 8;
  const u32 = () => {
    const v = b.readUInt32LE(at);
    at += 4;
    return v;
  };
  const bytes = (n: number) => {
    const v = Buffer.from(b.subarray(at, at + n));
    at += n;
    return v;
  };
  const version = u32();
  const header = JSON.parse(bytes(u32()).toString("utf8")) as Record<string, unknown>;
  const image = bytes(u32());
  const asyncify = bytes(u32());
  const count = u32();
  const pageSize = u32();
  return { version, header, image, asyncify, count, pageSize, indices: bytes(count * 4), data: bytes(count * pageSize) };
}

/** Puts it back together, with a checksum that passes. `json` overrides the header's text. */
export function join(r: RawSnapshot, json?: string): Buffer {
  const u32 = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(n >>> 0);
    return b;
  };
  const head = Buffer.from(json ?? JSON.stringify(r.header));
  const body = Buffer.concat([
    Buffer.from("MIGRSNAP", "latin1"),
    u32(r.version),
    u32(head.length),
    head,
    u32(r.image.length),
    r.image,
    u32(r.asyncify.length),
    r.asyncify,
    u32(r.count),
    u32(r.pageSize),
    r.indices,
    r.data,
  ]);
  return Buffer.concat([body, u32(crc32(body))]);
}

/** A copy of `b` edited by `edit` (which may change any field), re-checksummed. */
export function edited(b: Buffer, edit: (r: RawSnapshot) => void): Buffer {
  const r = split(b);
  edit(r);
  return join(r);
}

/** Sets the value at a dotted path of an object ("state.mail.sent"); undefined deletes it. */
export function setPath(o: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split(".");
  let at = o as Record<string, unknown>;
  for (const k of keys.slice(0, -1)) at = at[k] as Record<string, unknown>;
  const last = keys[keys.length - 1];
  if (value === undefined) delete at[last];
  else at[last] = value;
}
