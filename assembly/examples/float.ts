// f64 arithmetic: a Mandelbrot area estimate and a numeric integral.
// args: [size] (default 800)
import { print, args } from "migrant";

function mandel(cx: f64, cy: f64): i32 {
  let x = 0.0, y = 0.0, i = 0;
  while (i < 200 && x * x + y * y <= 4.0) {
    const t = x * x - y * y + cx;
    y = 2.0 * x * y + cy;
    x = t;
    i++;
  }
  return i;
}

export function main(): i32 {
  const a = args();
  const size = a.length > 0 ? I32.parseInt(a[0]) : 800;
  let inside = 0;
  for (let row = 0; row < size; row++) {
    const cy = -1.5 + 3.0 * <f64>row / <f64>size;
    for (let col = 0; col < size; col++) {
      if (mandel(-2.0 + 3.0 * <f64>col / <f64>size, cy) == 200) inside++;
    }
    if (row % (size / 6) == 0) print("row " + row.toString() + " inside " + inside.toString());
  }
  let integral = 0.0;
  const steps = size * 1000;
  for (let i = 0; i < steps; i++) {
    const x = (<f64>i + 0.5) / <f64>steps;
    integral += Math.sqrt(1.0 - x * x) * Math.exp(-x) / <f64>steps;
  }
  print("area " + (9.0 * <f64>inside / <f64>(size * size)).toString() + " integral " + integral.toString());
  return 0;
}
