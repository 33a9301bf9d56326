// job: a CPU-bound batch job that never waits: `units` units of work, each a
// fixed number of rounds of an integer mix over a small table, printing
// "unit <i> <checksum>" after each and "done <checksum>" at the end. The
// output depends only on the arguments (never on the node or the timing), so
// a migrated run's lines equal an unmoved run's. The balancing tests and
// `migrant bench --balance` run it.
// args: [units] (default 20), [rounds per unit] (default 2000000), [seed] (default 1)
import { print, args } from "migrant";

const TABLE = new StaticArray<u32>(256);

export function main(): i32 {
  const a = args();
  const units = a.length > 0 ? I32.parseInt(a[0]) : 20;
  const rounds = a.length > 1 ? I32.parseInt(a[1]) : 2000000;
  let x: u32 = a.length > 2 ? <u32>I32.parseInt(a[2]) : 1;
  for (let i = 0; i < 256; i++) TABLE[i] = <u32>i * 0x9e3779b9;
  for (let u = 0; u < units; u++) {
    for (let r = 0; r < rounds; r++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      const k = x & 255;
      TABLE[k] = TABLE[k] + x;
      x += TABLE[(x >>> 8) & 255];
    }
    print("unit " + u.toString() + " " + x.toString());
  }
  print("done " + x.toString());
  return 0;
}
