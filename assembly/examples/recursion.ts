// Deep recursion: a recursive tree walk and Ackermann, with the stack deep
// while it works. args: [depth] (default 3000), [rounds] (default 300)
import { print, args } from "migrant";

function sumDown(n: i32, acc: i64): i64 {
  if (n == 0) return acc;
  return sumDown(n - 1, acc + <i64>n * <i64>(n & 7));
}

function ack(m: i32, n: i32): i32 {
  if (m == 0) return n + 1;
  if (n == 0) return ack(m - 1, 1);
  return ack(m - 1, ack(m, n - 1));
}

function fib(n: i32): i32 {
  return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

export function main(): i32 {
  const a = args();
  const depth = a.length > 0 ? I32.parseInt(a[0]) : 3000;
  const rounds = a.length > 1 ? I32.parseInt(a[1]) : 300;
  let total: i64 = 0;
  for (let r = 0; r < rounds; r++) {
    total += sumDown(depth + r, 0);
    const k = ack(2, 100 + r) + fib(18 + (r & 3));
    total += k;
    if (r % 5 == 0) print("round " + r.toString() + ": " + total.toString());
  }
  print("total " + total.toString());
  return 0;
}
