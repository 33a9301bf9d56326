// One seed for the randomness of a test file: printed when the file loads, and
// taken from MIGRANT_SEED when set, so that a failure can be replayed:
//
//   MIGRANT_SEED=<seed> npx vitest run tests/<file>.test.ts
//
// random() draws from it (mulberry32), and fast-check's properties use it too.
// What depends on timing (where a freeze lands in a running guest) still
// varies between runs; the choices drawn do not.

import fc from "fast-check";

export const SEED = process.env.MIGRANT_SEED ? Number(process.env.MIGRANT_SEED) >>> 0 : Math.floor(Math.random() * 2 ** 32);
console.log(`random seed ${SEED} (replay this file with MIGRANT_SEED=${SEED})`);
fc.configureGlobal({ seed: SEED | 0 });

let state = SEED;

/** A number in [0, 1), from the seed. */
export function random(): number {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
}
