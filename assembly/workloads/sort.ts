// sort: repeated sorting of a large array (bursty writes).
// args: [MiB] (default 64), [rounds] (default 6)
import { print, now, args } from "migrant";

export function main(): i32 {
  const a = args();
  const mib = a.length > 0 ? I32.parseInt(a[0]) : 64;
  const rounds = a.length > 1 ? I32.parseInt(a[1]) : 6;
  const n = (mib << 20) >> 2;
  const arr = new Int32Array(n);
  let x: u32 = 88172645;
  let check: u64 = 0;
  let lastTick = now(), since = 0;
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < n; i++) {
      x ^= x << 13; x ^= x >> 17; x ^= x << 5;
      unchecked((arr[i] = <i32>x));
    }
    arr.sort();
    since += n;
    for (let i = 0; i < n; i += 4099) check = check * 31 + <u64>(<u32>arr[i]);
    if (now() - lastTick >= 100) {
      print("tick " + since.toString() + " 0 " + now().toString());
      since = 0;
      lastTick = now();
    }
  }
  print("done " + rounds.toString() + " " + check.toString());
  return 0;
}
