// numbered: the soak benchmark's guest (bench/soak.ts). Prints "line <n> <node>"
// for n = 1, 2, 3 ... with a short sleep after each (a freeze point), so that
// a client following it sees whether any line was lost or repeated across
// moves. Between lines it rewrites one 4 KiB block of a buffer of MiB and
// first checks that the block still holds what it wrote there one pass ago
// (every block is written at the start): a page lost or stale after a move
// ends it with "corrupt ..." and exit code 3.
// args: [MiB] (default 16), [ms between lines] (default 5), [lines] (default 0: forever)
import { print, sleep, node, args } from "migrant";

const WORDS = 1024; // u32 words in a 4 KiB block
const UNWRITTEN: u32 = 0xffffffff;

export function main(): i32 {
  const a = args();
  const mib = a.length > 0 ? I32.parseInt(a[0]) : 16;
  const pause = a.length > 1 ? I32.parseInt(a[1]) : 5;
  const total = a.length > 2 ? I32.parseInt(a[2]) : 0;
  const blocks = max<i32>((mib << 20) / (WORDS * 4), 1);
  const data = new Uint32Array(blocks * WORDS);
  data.fill(UNWRITTEN);
  for (let n = 1; total == 0 || n <= total; n++) {
    const b = n % blocks;
    const at = b * WORDS;
    const was: u32 = n > blocks ? <u32>(n - blocks) : UNWRITTEN;
    if (data[at] != was || data[at + WORDS - 1] != was) {
      print("corrupt at line " + n.toString() + ": block " + b.toString() + " holds " + data[at].toString() + ", not " + was.toString());
      return 3;
    }
    data.fill(<u32>n, at, at + WORDS);
    print("line " + n.toString() + " " + node());
    if (pause > 0) sleep(pause);
  }
  return 0;
}
