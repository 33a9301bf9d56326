// Test guest: recursion to a depth, then a sleep at the bottom (a freeze point
// with the whole stack on it), then prints what it summed on the way back.
// args: depth, sleep ms
import { print, args, sleep } from "migrant";

let sleepMs = 300;

function dive(n: i32, acc: i64): i64 {
  if (n == 0) {
    print("bottom");
    sleep(sleepMs);
    return acc;
  }
  const r = dive(n - 1, acc + <i64>n * 3);
  return r + <i64>(n & 1);
}

export function main(): i32 {
  const a = args();
  const depth = I32.parseInt(a[0]);
  sleepMs = a.length > 1 ? I32.parseInt(a[1]) : 300;
  print("sum " + dive(depth, 0).toString());
  return 0;
}
