// A large Uint8Array worked with fill and copyWithin (bulk memory ops).
// args: [MiB] (default 8), [rounds] (default 500)
import { print, args } from "migrant";

export function main(): i32 {
  const a = args();
  const mib = a.length > 0 ? I32.parseInt(a[0]) : 8;
  const rounds = a.length > 1 ? I32.parseInt(a[1]) : 500;
  const n = mib << 20;
  const buf = new Uint8Array(n);
  let check: u32 = 0;
  for (let r = 0; r < rounds; r++) {
    const start = (r * 40503) % (n >> 1);
    buf.fill(<u8>(r * 37 + 1), start, start + (n >> 3));
    buf.copyWithin((start * 3) % (n >> 1), start, start + (n >> 4));
    for (let i = 0; i < n; i += 4093) buf[i] = <u8>(buf[i] + i + r);
    for (let i = r; i < n; i += 997) check = check * 31 + buf[i];
    if (r % 10 == 0) print("round " + r.toString() + " check " + check.toString());
  }
  print("final " + check.toString());
  return 0;
}
