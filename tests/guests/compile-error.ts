// Test guest that does not compile.
import { print } from "migrant";
export function main(): i32 {
  print(42);
  return undefinedThing;
}
