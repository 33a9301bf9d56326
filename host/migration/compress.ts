// --compress: page batches made smaller for slow links.
//
// A packed batch (migPages with enc = PACKED) carries, instead of its pages
// one after the other, one record per page in the batch's order, the whole run
// of records deflated (zlib's raw deflate at its fastest level):
//
//   u8 WHOLE   then the page's pageSize bytes
//   u8 DELTA   then a ULEB128 length and that many bytes of XBZRLE delta
//              (xbzrle.ts) against the copy the destination holds already
//
// Deltas come from SentPages, the source's copy of what it last sent of each
// page (up to SENT_PAGES_BYTES of them): pre-copy's rounds resend what the
// guest wrote since, and a delta is what changed. Only the page stream before
// the handover uses them (PageStream.send): there the destination writes every
// batch in order, so its copy of a page is the last one sent. Post-copy's
// batches go once per page and are only deflated.
//
// The checksum covers the bytes on the wire, so a batch is checked before it
// is inflated; inflating is bounded by what the batch's pages can take, and a
// record that does not fit its batch is a ProtocolError, like any field no
// source sends. The destination unpacks into plain page data (a DELTA applied
// to a copy of its own page), so it installs a packed batch like any other.

import { deflateRaw, deflateRawSync, inflateRawSync, constants } from "node:zlib";
import { promisify } from "node:util";
import { ProtocolError } from "../net/protocol.js";
import { applyDelta, DeltaError, encodeDelta, readUleb, writeUleb } from "./xbzrle.js";
import type { Batch } from "./batch.js";

/** migPages.enc: the pages one after the other, or packed records (above). */
export const ENC_PLAIN = 0;
export const ENC_PACKED = 1;

const WHOLE = 0;
const DELTA = 1;
/** The most of the guest's memory the source keeps copies of for deltas. */
export const SENT_PAGES_BYTES = 256 * 1024 * 1024;
/** A record's most bytes besides the page: its kind and a length of up to 5 bytes. */
const RECORD_HEAD = 6;

const DEFLATE = { level: constants.Z_BEST_SPEED };
const deflateAsync = promisify(deflateRaw);

/** The source's copy of what it last sent of each page (for deltas), up to a budget. */
export class SentPages {
  private readonly copies = new Map<number, Uint8Array>();
  private block: Uint8Array | null = null;
  private used = 0;

  constructor(
    private readonly pageSize: number,
    private readonly maxBytes = SENT_PAGES_BYTES,
  ) {}

  get(page: number): Uint8Array | undefined {
    return this.copies.get(page);
  }

  /** Keeps `data` as what was sent of `page` (no copy is kept once the budget is spent). */
  keep(page: number, data: Uint8Array): void {
    let copy = this.copies.get(page);
    if (!copy) {
      if (this.copies.size * this.pageSize >= this.maxBytes) return;
      copy = this.slot();
      this.copies.set(page, copy);
    }
    copy.set(data);
  }

  /** Page-sized slots from 4 MiB blocks (aligned, so xbzrle's word scan applies). */
  private slot(): Uint8Array {
    const perBlock = Math.max(1, Math.floor((4 << 20) / this.pageSize));
    if (!this.block || this.used === perBlock) {
      this.block = new Uint8Array(perBlock * this.pageSize);
      this.used = 0;
    }
    return this.block.subarray(this.used * this.pageSize, ++this.used * this.pageSize);
  }
}

export interface Packed {
  /** the records, deflated */
  data: Uint8Array;
  /** pages sent as a delta */
  deltas: number;
}

/** The records of a batch, each page against its last sent copy where `sent` has one (`keep`: `sent` then keeps the page). */
function records(b: Batch, pageSize: number, sent: SentPages | null, keep: boolean): { records: Uint8Array; deltas: number } {
  const out = new Uint8Array(b.indices.length * (pageSize + RECORD_HEAD));
  let at = 0;
  let deltas = 0;
  b.indices.forEach((p, i) => {
    const page = b.data.subarray(i * pageSize, (i + 1) * pageSize);
    const old = sent?.get(p);
    // the length's varint goes first: write the delta past its room, then move it down if the varint is shorter
    const end = old ? encodeDelta(old, page, out, at + RECORD_HEAD, pageSize - RECORD_HEAD) : -1;
    if (end >= 0) {
      const len = end - at - RECORD_HEAD;
      const from = at + RECORD_HEAD;
      out[at++] = DELTA;
      at = writeUleb(out, at, len);
      out.copyWithin(at, from, end);
      at += len;
      deltas++;
    } else {
      out[at++] = WHOLE;
      out.set(page, at);
      at += pageSize;
    }
    if (keep) sent?.keep(p, page);
  });
  return { records: out.subarray(0, at), deltas };
}

/** Packs a batch on this thread (post-copy's answers and push: small batches, wanted now). */
export function packSync(b: Batch, pageSize: number): Packed {
  const r = records(b, pageSize, null, false);
  return { data: deflateRawSync(r.records, DEFLATE), deltas: r.deltas };
}

/**
 * Packs a batch, its pages against `sent` (`keep`: which then keeps them); the
 * deflating runs on libuv's thread pool, off the node's main thread.
 */
export async function pack(b: Batch, pageSize: number, sent: SentPages | null, keep: boolean): Promise<Packed> {
  const r = records(b, pageSize, sent, keep);
  return { data: await deflateAsync(r.records, DEFLATE), deltas: r.deltas };
}

/**
 * The plain page data of a packed batch of `count` pages: each WHOLE record's
 * page, each DELTA applied to a copy of the destination's page (`memory`, at
 * `indices`). A batch that inflates past what its pages can take, a record of
 * no kind, a delta that does not fit its page, or records that do not end
 * with the batch: a ProtocolError.
 */
export function unpack(data: Uint8Array, indices: Uint32Array, pageSize: number, memory: Uint8Array): Uint8Array {
  let recs: Buffer;
  try {
    recs = inflateRawSync(data, { maxOutputLength: indices.length * (pageSize + RECORD_HEAD) });
  } catch (e) {
    throw new ProtocolError(
      "field",
      `migPages.data: a packed batch that does not inflate to ${indices.length} pages (${(e as Error).message})`,
    );
  }
  let i = 0;
  const bad = (what: string) => new ProtocolError("field", `migPages.data: page ${i} of a packed batch: ${what}`);
  // every record takes at least two bytes: fewer cannot be the batch's pages (and allocate nothing for them)
  if (recs.length < 2 * indices.length) throw bad(`${recs.length} bytes of records for ${indices.length} pages`);
  const out = new Uint8Array(indices.length * pageSize);
  let at = 0;
  for (; i < indices.length; i++) {
    const kind = recs[at++];
    const page = out.subarray(i * pageSize, (i + 1) * pageSize);
    if (kind === WHOLE) {
      if (at + pageSize > recs.length) throw bad("the batch ends inside the page");
      page.set(recs.subarray(at, at + pageSize));
      at += pageSize;
    } else if (kind === DELTA) {
      try {
        let len: number;
        [len, at] = readUleb(recs, at);
        if (len > pageSize || at + len > recs.length) throw new DeltaError(`a delta of ${len} bytes`);
        const p = indices[i];
        page.set(memory.subarray(p * pageSize, (p + 1) * pageSize));
        applyDelta(recs.subarray(at, at + len), page);
        at += len;
      } catch (e) {
        if (e instanceof DeltaError) throw bad(e.message);
        throw e;
      }
    } else {
      throw bad(kind === undefined ? "the batch ends before it" : `a record of kind ${kind}`);
    }
  }
  i = indices.length - 1;
  if (at !== recs.length) throw bad(`${recs.length - at} bytes after the last page`);
  return out;
}
