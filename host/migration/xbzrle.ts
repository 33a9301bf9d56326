// XBZRLE, QEMU's delta encoding of a page sent again (migration/xbzrle.c):
// a pre-copy round resends a page the guest wrote since the last round, and a
// written page usually differs from what was sent in a few places only. The
// source keeps what it last sent of the page, walks that copy and the page now
// side by side, and writes the page as runs: a run of bytes that are the same
// (zrun, only its length), then a run of bytes that differ (nzrun, its length
// and the new bytes), again and again to the end of the page. Each length is
// an unsigned LEB128 varint. A trailing zrun is left out. The destination holds
// the old copy already (it installed it), so it applies the runs in place:
// skip a zrun, copy an nzrun.
//
// A page that differs in too many places encodes longer than it is; the
// encoder gives up past a limit and the page is sent whole. Equal runs are
// found a 32-bit word at a time (pages are 4-byte aligned in both buffers),
// differing ones a byte at a time.

/** A delta that does not fit its page: no source sends it. */
export class DeltaError extends Error {}

/** Writes v as an unsigned LEB128 varint at `at`; returns the end. */
export function writeUleb(out: Uint8Array, at: number, v: number): number {
  while (v >= 0x80) {
    out[at++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  out[at++] = v;
  return at;
}

/**
 * Encodes `cur` against `old` (equal lengths, a multiple of 4, 4-byte aligned)
 * into `out` from `at`. Returns the end of what was written, or -1 when the
 * delta would pass `limit` bytes (send the page whole).
 */
export function encodeDelta(old: Uint8Array, cur: Uint8Array, out: Uint8Array, at: number, limit: number): number {
  const n = cur.length;
  const ow = new Uint32Array(old.buffer, old.byteOffset, n >>> 2);
  const cw = new Uint32Array(cur.buffer, cur.byteOffset, n >>> 2);
  const end = Math.min(out.length, at + limit);
  let i = 0;
  let o = at;
  while (i < n) {
    const zStart = i;
    while (i < n && (i & 3) !== 0 && old[i] === cur[i]) i++;
    if ((i & 3) === 0) {
      let w = i >>> 2;
      while (w < ow.length && ow[w] === cw[w]) w++;
      i = w << 2;
      while (i < n && old[i] === cur[i]) i++;
    }
    if (i === n) break; // a trailing zrun is left out
    const nzStart = i;
    while (i < n && old[i] !== cur[i]) i++;
    const nz = i - nzStart;
    if (o + 10 + nz > end) return -1; // two varints of at most 5 bytes each, then the run
    o = writeUleb(out, o, nzStart - zStart);
    o = writeUleb(out, o, nz);
    out.set(cur.subarray(nzStart, i), o);
    o += nz;
  }
  return o;
}

/** Reads an unsigned LEB128 varint of at most 5 bytes at `at`: [value, end]. One that ends early or runs longer is a DeltaError. */
export function readUleb(bytes: Uint8Array, at: number): [number, number] {
  let v = 0;
  for (let shift = 0; shift < 35; shift += 7) {
    if (at >= bytes.length) throw new DeltaError("the bytes end inside a length");
    const b = bytes[at++];
    v += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) return [v, at];
  }
  throw new DeltaError("a length of more than 5 bytes");
}

/** Applies a delta to `page` in place (its old copy). A delta that runs past the page or ends mid-run is a DeltaError. */
export function applyDelta(delta: Uint8Array, page: Uint8Array): void {
  let at = 0;
  let i = 0;
  while (at < delta.length) {
    let z: number, nz: number;
    [z, at] = readUleb(delta, at);
    [nz, at] = readUleb(delta, at);
    i += z;
    if (nz === 0 || i + nz > page.length) throw new DeltaError(`a run of ${nz} bytes at ${i} of a ${page.length}-byte page`);
    if (at + nz > delta.length) throw new DeltaError(`a run of ${nz} bytes with ${delta.length - at} left in the delta`);
    page.set(delta.subarray(at, at + nz), i);
    at += nz;
    i += nz;
  }
}
