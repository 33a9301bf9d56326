// Counts: prints i and the node it runs on every 100 ms.
// args: [count] (default 20; 0 counts forever)
import { print, sleep, node, args } from "migrant";

export function main(): i32 {
  const a = args();
  const count = a.length > 0 ? I32.parseInt(a[0]) : 20;
  for (let i = 0; count == 0 || i < count; i++) {
    print(i.toString() + " on " + node());
    sleep(100);
  }
  return 0;
}
