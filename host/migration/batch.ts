// Page batches: up to BATCH_PAGES pages per frame, with a CRC-32 over the
// indices and the data, checked by the destination before it installs any page
// of the batch (a mismatch aborts the migration before the handover). A batch
// with indices and no data stands for zero pages (post-copy pushes them so,
// having handed over without scanning memory for them).

import { crc32 } from "node:zlib";
import type { MessageOf } from "../net/protocol.js";

export const BATCH_PAGES = 1024;
/**
 * Post-copy's background push sends smaller batches and keeps less queued on
 * the link: a fault's answer waits behind what is queued, so this bounds the
 * fault latency (about 1 MiB ahead of it) at some cost in push rate.
 */
export const PUSH_PAGES = 64;
export const PUSH_QUEUE_BYTES = 512 * 1024;

export interface Batch {
  indices: Uint32Array;
  data: Uint8Array;
}

/** A batch of zero pages: indices only. */
export function zeroBatch(pages: number[]): Batch {
  return { indices: Uint32Array.from(pages), data: new Uint8Array(0) };
}

/** Copies pages out of `bytes` into a batch. */
export function makeBatch(bytes: Uint8Array, pages: number[], pageSize: number): Batch {
  const data = new Uint8Array(pages.length * pageSize);
  pages.forEach((p, i) => data.set(bytes.subarray(p * pageSize, (p + 1) * pageSize), i * pageSize));
  return { indices: Uint32Array.from(pages), data };
}

export function batchMessage(mid: number, b: Batch): MessageOf<"migPages"> {
  const indices = new Uint8Array(b.indices.buffer, b.indices.byteOffset, b.indices.byteLength);
  return { t: "migPages", mid, indices, data: b.data, crc: crc32(b.data, crc32(indices)) };
}

/** The batch a message carries, or null if it fails its checksum or its shape. */
export function openBatch(m: MessageOf<"migPages">, pageSize: number): Batch | null {
  if (m.indices.length % 4 !== 0) return null;
  if (m.data.length !== 0 && m.data.length !== (m.indices.length / 4) * pageSize) return null;
  if (crc32(m.data, crc32(m.indices)) !== m.crc) return null;
  return { indices: new Uint32Array(new Uint8Array(m.indices).buffer), data: m.data };
}
