// A module's bytes with every active data segment emptied, for a worker that
// resumes a process rather than starting one.
//
// Instantiating a module writes its active data segments into memory: the
// static data a fresh run starts from. A resumed process has its own copy of
// that region, changed since (object headers the collector rewrote, counters),
// so a worker that instantiated the module as it is would have to keep the
// region aside and put it back, and could do so only once the process was
// frozen: 2-3 ms of a variant switch's pause. With the segments emptied,
// instantiating writes nothing, so a warm worker instantiates while the
// process still runs (process.ts prepare; worker/guest-worker.ts).
//
// The data section is rewritten in place: each active segment keeps its flags,
// memory and offset expression, and gets length 0; passive segments (which
// instantiation does not write) stay as they are, so memory.init and data.drop
// still find every segment by its index. A section this cannot read (an offset
// expression of another kind than a constant, global.get and the extended-const
// arithmetic) gives null: the caller then instantiates as before.

const DATA_SECTION = 11;
const END = 0x0b;
/** Offset-expression opcodes: i32.const, i64.const (a signed LEB each), global.get (an unsigned LEB); add, sub, mul (none). */
const SLEB_ARG = new Set([0x41, 0x42]);
const LEB_ARG = new Set([0x23]);
const NO_ARG = new Set([0x6a, 0x6b, 0x6c, 0x7c, 0x7d, 0x7e]);

class Reader {
  constructor(
    readonly b: Uint8Array,
    public at: number,
  ) {}

  u8(): number {
    if (this.at >= this.b.length) throw new RangeError("past the end");
    return this.b[this.at++];
  }

  leb(): number {
    let v = 0;
    for (let shift = 0; ; shift += 7) {
      const x = this.u8();
      v += (x & 0x7f) * 2 ** shift;
      if (!(x & 0x80)) return v;
      if (shift > 63) throw new RangeError("a LEB128 too long");
    }
  }

  /** An offset expression, up to and including its end. */
  expr(): void {
    for (;;) {
      const op = this.u8();
      if (op === END) return;
      if (SLEB_ARG.has(op) || LEB_ARG.has(op)) this.leb();
      else if (!NO_ARG.has(op)) throw new RangeError(`opcode 0x${op.toString(16)} in an offset expression`);
    }
  }
}

function leb(n: number): number[] {
  const out: number[] = [];
  do {
    let x = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) x |= 0x80;
    out.push(x);
  } while (n > 0);
  return out;
}

/** The data section's content with each active segment's bytes left out, as parts. */
function emptied(r: Reader, end: number): Uint8Array[] {
  const count = r.leb();
  const out: Uint8Array[] = [Uint8Array.from(leb(count))];
  for (let i = 0; i < count; i++) {
    const start = r.at;
    const flags = r.leb();
    if (flags === 1) {
      const n = r.leb();
      r.at += n;
      out.push(r.b.subarray(start, r.at));
      continue;
    }
    if (flags === 2) r.leb();
    else if (flags !== 0) throw new RangeError(`data segment flags ${flags}`);
    r.expr();
    out.push(r.b.subarray(start, r.at), Uint8Array.of(0));
    const n = r.leb(); // (not r.at += r.leb(): r.at would be read before the LEB moved it)
    r.at += n; // the bytes left out
  }
  if (r.at !== end) throw new RangeError("the data section has bytes after its segments");
  return out;
}

const concat = (parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};

/** `bytes` with its active data segments emptied, or null if its data section is not one this reads. */
export function withoutData(bytes: Uint8Array): Uint8Array | null {
  try {
    const r = new Reader(bytes, 8);
    while (r.at < bytes.length) {
      const header = r.at;
      const id = r.u8();
      const size = r.leb();
      const start = r.at;
      if (start + size > bytes.length) return null;
      if (id !== DATA_SECTION) {
        r.at = start + size;
        continue;
      }
      const content = concat(emptied(r, start + size));
      return concat([
        bytes.subarray(0, header),
        Uint8Array.of(DATA_SECTION, ...leb(content.length)),
        content,
        bytes.subarray(start + size),
      ]);
    }
    return bytes; // no data section: nothing to leave out
  } catch {
    return null;
  }
}
