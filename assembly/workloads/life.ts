// life: Conway's game of life on a large grid; rewrites most of its memory
// every generation (the hard case for pre-copy).
// args: [MiB] (default 64), [generations] (default 40)
import { print, now, args } from "migrant";

export function main(): i32 {
  const a = args();
  const mib = a.length > 0 ? I32.parseInt(a[0]) : 64;
  const gens = a.length > 1 ? I32.parseInt(a[1]) : 40;
  const side = <i32>Math.sqrt(<f64>((mib << 20) >> 1)); // two byte grids
  let cur = new Uint8Array(side * side);
  let nxt = new Uint8Array(side * side);
  let x: u32 = 12345;
  for (let i = 0; i < side * side; i++) {
    x ^= x << 13; x ^= x >> 17; x ^= x << 5;
    cur[i] = <u8>((x & 3) == 0 ? 1 : 0);
  }
  let lastTick = now(), rows = 0;
  for (let g = 0; g < gens; g++) {
    for (let r = 1; r < side - 1; r++) {
      const o = r * side;
      for (let c = 1; c < side - 1; c++) {
        const i = o + c;
        const n = unchecked(cur[i - side - 1]) + unchecked(cur[i - side]) + unchecked(cur[i - side + 1]) +
          unchecked(cur[i - 1]) + unchecked(cur[i + 1]) +
          unchecked(cur[i + side - 1]) + unchecked(cur[i + side]) + unchecked(cur[i + side + 1]);
        unchecked((nxt[i] = <u8>(n == 3 || (n == 2 && unchecked(cur[i]) == 1) ? 1 : 0)));
      }
      rows++;
      if ((r & 63) == 0 && now() - lastTick >= 100) {
        print("tick " + rows.toString() + " 0 " + now().toString());
        rows = 0;
        lastTick = now();
      }
    }
    const t = cur; cur = nxt; nxt = t;
  }
  let pop = 0;
  for (let i = 0; i < side * side; i++) pop += cur[i];
  print("done " + gens.toString() + " " + pop.toString());
  return 0;
}
