// Prints COUNT numbered lines as fast as it can ("flood 1" ... "flood COUNT",
// each padded with WIDTH dots), then "flood done", then waits WAIT ms before
// it exits: a guest that out-prints any reader.
// args: [count] [wait] [width] (defaults 100000, 0, 0)
import { print, args, sleep } from "migrant";

export function main(): i32 {
  const a = args();
  const count = a.length > 0 ? I32.parseInt(a[0]) : 100000;
  const wait = a.length > 1 ? I32.parseInt(a[1]) : 0;
  const pad = a.length > 2 ? " " + ".".repeat(I32.parseInt(a[2])) : "";
  for (let i = 1; i <= count; i++) print("flood " + i.toString() + pad);
  print("flood done");
  if (wait > 0) sleep(wait);
  return 0;
}
