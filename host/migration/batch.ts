// Page batches: up to BATCH_PAGES pages per frame, with a CRC-32 over the
// indices and the data, checked by the destination before it installs any page
// of the batch (a mismatch aborts the migration before the handover); the
// destination also checks every index against the module (arrival-checks.ts). A batch
// with indices and no data stands for zero pages (post-copy pushes them so,
// having handed over without scanning memory for them). With --compress a
// batch's data is packed (compress.ts): enc says which, and the checksum covers
// the packed bytes.

import { crc32 } from "node:zlib";
import { ProtocolError, type MessageOf } from "../net/protocol.js";
import { ENC_PACKED, ENC_PLAIN } from "./compress.js";

export const BATCH_PAGES = 1024;
/**
 * Post-copy's background push sends smaller batches, and keeps at most
 * PUSH_WINDOW_BYTES of them on their way: sent, and not yet acknowledged
 * installed by the destination (migInstalled). What is on its way sits in the
 * source's socket queue, the kernel's buffers and the destination's input, and
 * a fault's answer waits behind all of it; the window bounds that wait to
 * about one batch's transfer and install, at some cost in push rate.
 */
export const PUSH_PAGES = 64;
export const PUSH_WINDOW_BYTES = 2 * PUSH_PAGES * 4096;

export interface Batch {
  indices: Uint32Array;
  data: Uint8Array;
}

/** A batch of zero pages: indices only. */
export function zeroBatch(pages: number[]): Batch {
  return { indices: Uint32Array.from(pages), data: new Uint8Array(0) };
}

/** Copies pages out of `bytes` into a batch, its data in a buffer from `alloc` (a pool's: net/buffer-pool.ts). */
export function makeBatch(bytes: Uint8Array, pages: number[], pageSize: number, alloc: (n: number) => Uint8Array): Batch {
  const data = alloc(pages.length * pageSize);
  pages.forEach((p, i) => data.set(bytes.subarray(p * pageSize, (p + 1) * pageSize), i * pageSize));
  return { indices: Uint32Array.from(pages), data };
}

/** The message of a batch; `packed`: its data packed (compress.ts) instead of the pages themselves. */
export function batchMessage(mid: number, b: Batch, packed?: Uint8Array): MessageOf<"migPages"> {
  const indices = new Uint8Array(b.indices.buffer, b.indices.byteOffset, b.indices.byteLength);
  const data = packed ?? b.data;
  return { t: "migPages", mid, indices, data, crc: crc32(data, crc32(indices)), enc: packed ? ENC_PACKED : ENC_PLAIN };
}

/** A batch as it arrived: `packed`, its data is still packed (compress.ts unpack makes it page data). */
export interface ArrivedBatch extends Batch {
  packed: boolean;
}

/**
 * The batch a message carries, or null if it fails its checksum. A batch whose
 * lengths do not fit together (indices not whole u32s, plain data neither
 * empty nor a page per index, packed data empty or without pages) or of no
 * encoding is no batch any source sends: a ProtocolError.
 */
export function openBatch(m: MessageOf<"migPages">, pageSize: number): ArrivedBatch | null {
  if (m.indices.length % 4 !== 0)
    throw new ProtocolError("field", `migPages.indices: ${m.indices.length} bytes is not a list of u32 pages`);
  const count = m.indices.length / 4;
  if (m.enc !== ENC_PLAIN && m.enc !== ENC_PACKED) throw new ProtocolError("field", `migPages.enc: ${m.enc} is no encoding (0 or 1)`);
  const packed = m.enc === ENC_PACKED;
  // a packed batch's data says nothing of its size: at most BATCH_PAGES pages, as every source sends them
  if (packed && (count === 0 || count > BATCH_PAGES || m.data.length === 0)) {
    throw new ProtocolError("field", `migPages: a packed batch of ${count} pages (1 to ${BATCH_PAGES}) in ${m.data.length} bytes`);
  }
  if (!packed && m.data.length !== 0 && m.data.length !== count * pageSize) {
    throw new ProtocolError("field", `migPages.data: ${m.data.length} bytes for ${count} pages of ${pageSize} (nor empty, for zero pages)`);
  }
  if (crc32(m.data, crc32(m.indices)) !== m.crc) return null;
  return { indices: new Uint32Array(m.indices.slice().buffer), data: m.data, packed };
}
