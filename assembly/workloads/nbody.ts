// nbody: an n-body simulation (compute-bound, tiny memory).
// args: [MiB] (ignored: it needs almost none), [steps] (default 3000000)
import { print, now, args } from "migrant";

const N = 5;
const px = new StaticArray<f64>(N), py = new StaticArray<f64>(N), pz = new StaticArray<f64>(N);
const vx = new StaticArray<f64>(N), vy = new StaticArray<f64>(N), vz = new StaticArray<f64>(N);
const m = new StaticArray<f64>(N);

function energy(): f64 {
  let e = 0.0;
  for (let i = 0; i < N; i++) {
    e += 0.5 * m[i] * (vx[i] * vx[i] + vy[i] * vy[i] + vz[i] * vz[i]);
    for (let j = i + 1; j < N; j++) {
      const dx = px[i] - px[j], dy = py[i] - py[j], dz = pz[i] - pz[j];
      e -= (m[i] * m[j]) / Math.sqrt(dx * dx + dy * dy + dz * dz);
    }
  }
  return e;
}

export function main(): i32 {
  const a = args();
  const steps = a.length > 1 ? I32.parseInt(a[1]) : 3000000;
  for (let i = 0; i < N; i++) {
    px[i] = <f64>i * 1.1; py[i] = <f64>(i * i) * 0.3; pz[i] = <f64>(i & 1) * 0.7;
    vx[i] = 0.01 * <f64>i; vy[i] = -0.02 * <f64>(N - i); vz[i] = 0.0; m[i] = 1.0 + <f64>i * 0.1;
  }
  const dt = 0.001;
  let lastTick = now(), since = 0;
  for (let s = 0; s < steps; s++) {
    for (let i = 0; i < N; i++) {
      for (let j = i + 1; j < N; j++) {
        const dx = px[i] - px[j], dy = py[i] - py[j], dz = pz[i] - pz[j];
        const d2 = dx * dx + dy * dy + dz * dz + 0.01;
        const mag = dt / (d2 * Math.sqrt(d2));
        vx[i] -= dx * m[j] * mag; vy[i] -= dy * m[j] * mag; vz[i] -= dz * m[j] * mag;
        vx[j] += dx * m[i] * mag; vy[j] += dy * m[i] * mag; vz[j] += dz * m[i] * mag;
      }
    }
    for (let i = 0; i < N; i++) { px[i] += dt * vx[i]; py[i] += dt * vy[i]; pz[i] += dt * vz[i]; }
    since++;
    if ((s & 4095) == 0 && now() - lastTick >= 100) {
      print("tick " + since.toString() + " 0 " + now().toString());
      since = 0;
      lastTick = now();
    }
  }
  print("done " + steps.toString() + " " + energy().toString());
  return 0;
}
