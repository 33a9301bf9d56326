// gc: allocation churn of strings and maps (the garbage collector's writes).
// args: [MiB] (default 16: the live set kept), [operations] (default 1500000)
import { print, now, args } from "migrant";

export function main(): i32 {
  const a = args();
  const mib = a.length > 0 ? I32.parseInt(a[0]) : 16;
  const ops = a.length > 1 ? I32.parseInt(a[1]) : 1500000;
  const live = (mib << 20) / 64; // about 64 bytes an entry
  const map = new Map<i32, string>();
  let check: u64 = 0, since = 0;
  let lastTick = now();
  for (let i = 0; i < ops; i++) {
    const k = (i * 7919) % live;
    const v = "v" + i.toString(36) + "-" + k.toString();
    if (map.has(k)) check += <u64>map.get(k).length;
    map.set(k, v);
    since++;
    if ((i & 4095) == 0 && now() - lastTick >= 100) {
      print("tick " + since.toString() + " 0 " + now().toString());
      since = 0;
      lastTick = now();
    }
  }
  print("done " + ops.toString() + " " + check.toString() + " " + map.size.toString());
  return 0;
}
