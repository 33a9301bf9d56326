// kvstore: a hash-table key-value store serving a stream of GET/SET requests
// with a skewed key distribution (write-heavy, large working set). Records when
// each request completed, so that the longest gap a client would see is known.
// args: [MiB] (default 64), [requests] (default 2000000)
// prints "tick <requests since last tick> <longest gap ms> <now ms>" about every 100 ms,
// then "done <requests> <checksum>".
import { print, now, args } from "migrant";

export function main(): i32 {
  const a = args();
  const mib = a.length > 0 ? I32.parseInt(a[0]) : 64;
  const total = a.length > 1 ? I32.parseInt(a[1]) : 2000000;
  const slots = (mib << 20) >> 4; // 16 bytes a slot: key u64, value u64
  const table = new StaticArray<u64>(slots * 2);
  const mask = <u32>(slots - 1);
  let x: u32 = 2463534242;
  let done = 0, since = 0, check: u64 = 0;
  let last = now(), lastTick = last, gap = 0.0;
  for (let i = 0; i < total; i++) {
    x ^= x << 13; x ^= x >> 17; x ^= x << 5;
    // skewed keys: small keys far more often than large ones
    const r = <f64>(x & 0xffff) / 65536.0;
    const key = <u64>(r * r * r * <f64>slots * 4.0) + 1;
    let h = <u32>((key * 0x9e3779b97f4a7c15) >> 32) & mask;
    for (let probe = 0; probe < 64; probe++) {
      const k = unchecked(table[h << 1]);
      if (k == key || k == 0) break;
      h = (h + 1) & mask;
    }
    if ((x & 7) < 5) {
      unchecked((table[h << 1] = key));
      unchecked((table[(h << 1) + 1] = <u64>i));
    } else check += unchecked(table[(h << 1) + 1]);
    done++;
    since++;
    if ((i & 1023) == 0) {
      const t = now();
      if (t - last > gap) gap = t - last;
      last = t;
      if (t - lastTick >= 100) {
        print("tick " + since.toString() + " " + gap.toString() + " " + t.toString());
        since = 0;
        gap = 0;
        lastTick = t;
      }
    }
  }
  print("done " + done.toString() + " " + check.toString());
  return 0;
}
