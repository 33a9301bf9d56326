// The optional end-to-end check of a migration (MIGRANT_VERIFY=1 on the
// source node; the tests run with it): at the handover the source sends the
// CRC-32 of every guest page the destination should hold by then, and the
// destination compares them with its own before it resumes the process.
// Pages still absent (left to post-copy) are not compared.

import { crc32 } from "node:zlib";
import type { Layout } from "../memory/layout.js";

/** CRC-32 of every guest page not absent: neither in `absent` nor in [range[0], range[1]). */
export function verifyDigests(bytes: Uint8Array, L: Layout, absent: ArrayLike<number>, range: [number, number]): Record<number, number> {
  const out: Record<number, number> = {};
  const size = L.pageSize;
  const not = new Set(Array.from(absent));
  for (let p = L.base / size; p < bytes.length / size; p++) {
    if (!not.has(p) && !(p >= range[0] && p < range[1])) out[p] = crc32(bytes.subarray(p * size, (p + 1) * size));
  }
  return out;
}

/** The pages whose digest differs from the source's (at most 8 named), or null if all match. */
export function verifyMismatch(expected: Record<string, number>, actual: Record<number, number>): string | null {
  const bad = Object.keys(expected).filter((p) => expected[p] !== actual[Number(p)]);
  return bad.length ? `${bad.length} pages differ from the source (${bad.slice(0, 8).join(", ")})` : null;
}
