// Buffers for bulk data, used again instead of allocated anew.
//
// A migration's page stream makes a 4 MiB batch and a 4 MiB frame for every
// 1024 pages. A fresh buffer that large is fresh memory: the kernel maps and
// zeroes each of its 4 KiB pages on first touch, and V8 frees it only at a
// later collection. Measured on this machine, copying 1024 pages into a fresh
// buffer took 5 ms, into one used before 0.33 ms: the faults, not the copy,
// were most of a total freeze's time on the source (with the frame's own
// fresh buffer and the collections they caused).
//
// A pool hands out views of buffers it keeps (`take`), and takes each back
// once nobody reads it any more (`give`: a frame once the socket has written
// it, ws's send callback; a batch once it is encoded into its frame). It keeps
// at most `keep` free buffers, so it holds a few batches' worth, and it is
// owned by what streams (one migration's page stream): it goes with it.

export class BufferPool {
  private readonly free: ArrayBuffer[] = [];

  constructor(private readonly keep = 6) {}

  /** A buffer of `n` bytes, uninitialised: a view of the smallest free one that holds it, else a new one. */
  readonly take = (n: number): Buffer => {
    let best = -1;
    this.free.forEach((b, i) => {
      if (b.byteLength >= n && (best < 0 || b.byteLength < this.free[best].byteLength)) best = i;
    });
    const buffer = best >= 0 ? this.free.splice(best, 1)[0] : Buffer.allocUnsafeSlow(n).buffer;
    return Buffer.from(buffer, 0, n);
  };

  /** Takes back a buffer `take` handed out (nobody may read or write it after this). */
  readonly give = (b: Uint8Array): void => {
    if (this.free.length < this.keep && b.buffer instanceof ArrayBuffer && !this.free.includes(b.buffer)) this.free.push(b.buffer);
  };
}
