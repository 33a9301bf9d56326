// Float globals that JSON cannot carry as numbers: NaN, +-Infinity and -0,
// set at run time (so they are mutable globals, saved at every freeze), and
// printed after every sleep (a freeze point). args: [lines] (default 20)
import { print, sleep, args } from "migrant";

let nan: f64 = 1;
let inf: f64 = 1;
let ninf: f32 = 1;
let negzero: f64 = 1;

export function main(): i32 {
  const a = args();
  const n = a.length > 0 ? I32.parseInt(a[0]) : 20;
  const zero = <f64>(a.length - a.length); // 0, not known when compiling
  nan = zero / zero;
  inf = 1.0 / zero;
  ninf = <f32>(-1.0 / zero);
  negzero = -zero;
  for (let i = 0; i < n; i++) {
    sleep(20);
    print(i.toString() + " " + (isNaN(nan) ? "NaN" : nan.toString()) + " " + inf.toString() + " " + ninf.toString() + " " + (1.0 / negzero).toString());
  }
  return 0;
}
