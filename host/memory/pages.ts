// Reading and writing the guest's memory page by page. Only the guest's part
// ([base, size)) is process state; the reserved region below it is host
// bookkeeping, except the used part of the Asyncify buffer, which travels
// separately. Zero pages are omitted: a fresh memory is zero already.

import type { Layout } from "./layout.js";
import { WASM_PAGE } from "./layout.js";

export interface PageSet {
  /** tracked page indices, ascending */
  indices: Uint32Array;
  /** their contents, pageSize bytes each, in the same order */
  data: Uint8Array;
}

/** Every guest page of `memory` (tracked pages from the layout's base to the memory's end). */
export function guestPages(memory: WebAssembly.Memory, layout: Layout): number[] {
  const first = layout.base / layout.pageSize;
  return Array.from({ length: memory.buffer.byteLength / layout.pageSize - first }, (_, i) => first + i);
}

/** Splits pages into those that are all zero and the others. */
export function splitZero(bytes: Uint8Array, pages: Iterable<number>, pageSize: number): { zero: number[]; data: number[] } {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const blank = Buffer.alloc(pageSize);
  const zero: number[] = [];
  const data: number[] = [];
  for (const p of pages) (buf.subarray(p * pageSize, (p + 1) * pageSize).equals(blank) ? zero : data).push(p);
  return { zero, data };
}

/** Copies every non-zero guest page of `memory`. */
export function capturePages(memory: WebAssembly.Memory, layout: Layout): PageSet {
  const bytes = new Uint8Array(memory.buffer);
  const size = layout.pageSize;
  const indices = splitZero(bytes, guestPages(memory, layout), size).data;
  const data = new Uint8Array(indices.length * size);
  indices.forEach((p, i) => data.set(bytes.subarray(p * size, (p + 1) * size), i * size));
  return { indices: Uint32Array.from(indices), data };
}

/** A fresh shared memory for a process of `layout`, of `pages` Wasm pages. */
export function newMemory(layout: Layout, pages = layout.initialPages): WebAssembly.Memory {
  return new WebAssembly.Memory({ initial: Math.max(pages, layout.initialPages), maximum: layout.maxPages, shared: true });
}

/** Writes captured pages into `memory` (which must be large enough), except those in `skip`. */
export function installPages(memory: WebAssembly.Memory, layout: Layout, set: PageSet, skip?: Set<number>): void {
  const bytes = new Uint8Array(memory.buffer);
  const size = layout.pageSize;
  set.indices.forEach((p, i) => {
    if (!skip?.has(p)) bytes.set(set.data.subarray(i * size, (i + 1) * size), p * size);
  });
}

export const memoryPages = (memory: WebAssembly.Memory) => memory.buffer.byteLength / WASM_PAGE;

/**
 * Writes one byte of every memory page from `from` on (the kernel's pages, 4
 * KiB): a fresh memory's pages are mapped only when first written, and that
 * fault, with the kernel zeroing the page, cost the destination as much as
 * copying the data in (150 ms of a 64 MiB freeze's 400-500 ms). Done here,
 * while a warm worker gets ready (worker/guest-worker.ts), it is out of the
 * downtime and off the node's main thread.
 */
export function prefault(bytes: Uint8Array, from: number): void {
  for (let i = from; i < bytes.length; i += 4096) bytes[i] = 0;
}
