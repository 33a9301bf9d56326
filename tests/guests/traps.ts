// Test guest: ends the way its first argument says.
import { print, args, exit, pid } from "migrant";

function down(n: i32): i32 {
  return n == 0 ? 0 : 1 + down(n - 1) + down(0);
}

export function main(): i32 {
  const a = args();
  const how = a.length > 0 ? a[0] : "ok";
  print("pid " + pid() + " args " + a.join(","));
  if (how == "unreachable") unreachable();
  if (how == "oob") return load<i32>(0xfffffff0);
  if (how == "stack") return down(0x7fffffff);
  if (how == "abort") assert(false, "the guest gave up");
  if (how == "exit") { exit(7); print("not reached"); }
  if (how == "divzero") { const z = a.length - 1; return 1 / z; }
  return 3;
}
