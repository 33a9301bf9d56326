// Builds every guest the tests use once, before any test file runs (builds are
// cached by content, so the test files then load them at once).

import { existsSync } from "node:fs";
import { WORKER_SCRIPT } from "../host/paths.js";
import { ALL_GUESTS, guestBytes } from "./guests.js";

export default async function setup(): Promise<void> {
  if (!existsSync(WORKER_SCRIPT)) throw new Error("build first: `npm test` runs tsc before vitest (workers load dist/)");
  for (const g of ALL_GUESTS) await guestBytes(g);
}
