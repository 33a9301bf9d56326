// Calls through function references (call_indirect), including a recursive
// one, folding a sequence. args: [n] (default 15000000)
import { print, args } from "migrant";

type Op = (a: i32, b: i32) => i32;

function add(a: i32, b: i32): i32 { return a + b; }
function mix(a: i32, b: i32): i32 { return (a * 31) ^ b; }
function rot(a: i32, b: i32): i32 { return rotl<i32>(a, b & 31) + 1; }
function tri(a: i32, b: i32): i32 { return b <= 0 ? a : tri(a + b, b - 1); }

const ops: Op[] = [add, mix, rot, (a: i32, b: i32): i32 => a - (b << 1), (a: i32, b: i32): i32 => tri(a, b & 15)];

export function main(): i32 {
  const a = args();
  const n = a.length > 0 ? I32.parseInt(a[0]) : 15000000;
  let acc = 7;
  for (let i = 0; i < n; i++) {
    const op = ops[(i ^ (acc >>> 3)) % ops.length];
    acc = op(acc, i);
    if (i % (n / 8) == 0) print("step " + i.toString() + ": " + acc.toString());
  }
  print("result " + acc.toString());
  return 0;
}
