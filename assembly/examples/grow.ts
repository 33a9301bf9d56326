// Memory that grows during the run: ever more buffers kept alive, and a raw
// memory.grow, each written and checked. args: [steps] (default 120)
import { print, args } from "migrant";

export function main(): i32 {
  const a = args();
  const steps = a.length > 0 ? I32.parseInt(a[0]) : 120;
  const keep = new Array<Uint32Array>(0);
  let rawPages = 0;
  let check: u64 = 0;
  for (let s = 0; s < steps; s++) {
    const chunk = new Uint32Array(65536 + s * 1024);
    for (let i = 0; i < chunk.length; i++) chunk[i] = <u32>(i * (s + 1)) ^ 0x9e3779b9;
    keep.push(chunk);
    if (s % 8 == 7) {
      // raw growth past the heap: the pages belong to nobody but this loop
      const before = memory.grow(1);
      rawPages++;
      const base = <usize>before << 16;
      for (let i: usize = 0; i < 65536; i += 8) store<u64>(base + i, <u64>(i + s));
      for (let i: usize = 0; i < 65536; i += 512) check += load<u64>(base + i);
    }
    for (let k = 0; k < keep.length; k += 3) check += keep[k][(s * 7919) % keep[k].length];
    if (s % 8 == 0) print("step " + s.toString() + " raw pages " + rawPages.toString() + " check " + check.toString());
  }
  print("done: " + keep.length.toString() + " buffers, " + rawPages.toString() + " raw pages, memory " + (memory.size() > 1000 ? "over" : "under") + " 64 MiB," + " check " + check.toString());
  return 0;
}
