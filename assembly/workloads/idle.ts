// idle: a service that mostly sleeps and answers now and then; holds a large
// buffer it wrote once (a lot of memory, almost no writes).
// args: [MiB] (default 64), [answers] (default 40)
import { print, sleep, now, args } from "migrant";

export function main(): i32 {
  const a = args();
  const mib = a.length > 0 ? I32.parseInt(a[0]) : 64;
  const answers = a.length > 1 ? I32.parseInt(a[1]) : 40;
  const data = new Uint8Array(mib << 20);
  for (let i = 0; i < data.length; i += 64) data[i] = <u8>(i >> 6);
  let check: u64 = 0;
  for (let q = 0; q < answers; q++) {
    sleep(50);
    const at = (q * 104729) % data.length;
    check = check * 31 + data[at];
    data[at] = <u8>(data[at] + 1);
    print("tick 1 0 " + now().toString());
  }
  print("done " + answers.toString() + " " + check.toString());
  return 0;
}
