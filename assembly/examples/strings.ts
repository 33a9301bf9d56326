// Strings and Map with heavy allocation: the garbage collector at work.
// args: [n] (default 300000)
import { print, args } from "migrant";

export function main(): i32 {
  const a = args();
  const n = a.length > 0 ? I32.parseInt(a[0]) : 300000;
  const words = new Map<string, i32>();
  let longest = "";
  for (let i = 0; i < n; i++) {
    const key = "k" + (i % 5000).toString() + "-" + ((i * 7919) % 13).toString();
    const prev = words.has(key) ? words.get(key) : 0;
    words.set(key, prev + i % 97);
    const s = key.repeat(1 + (i % 4)) + "/" + i.toString(16);
    if (s.length > longest.length) longest = s;
    if (i % 1000 == 999 && words.size > 40000) words.clear();
    if (i % (n / 6) == 0) print("at " + i.toString() + " map size " + words.size.toString());
  }
  let sum: i64 = 0;
  const keys = words.keys();
  for (let i = 0; i < keys.length; i++) sum += words.get(keys[i]) * (keys[i].length);
  print("keys " + keys.length.toString() + " checksum " + sum.toString() + " longest " + longest);
  return 0;
}
