// Migration options as they arrive from a client: checked, with defaults.

import { MigrantError } from "../errors.js";
import { DEFAULT_OPTIONS, STRATEGIES, type MigrationOptions, type Strategy } from "./options.js";

export function parseOptions(raw: unknown): MigrationOptions {
  const o = (raw && typeof raw === "object" ? raw : {}) as Record<string, unknown>;
  const out: MigrationOptions = { ...DEFAULT_OPTIONS };
  if (o.strategy !== undefined) {
    if (!STRATEGIES.includes(o.strategy as Strategy))
      throw new MigrantError(`unknown strategy "${String(o.strategy)}" (${STRATEGIES.join(", ")})`);
    out.strategy = o.strategy as Strategy;
  }
  const num = (k: keyof MigrationOptions, min: number) => {
    if (o[k] === undefined || o[k] === null) return;
    const n = Number(o[k]);
    if (!Number.isFinite(n) || n < min) throw new MigrantError(`${k} must be a number >= ${min}`);
    (out as unknown as Record<string, number>)[k] = n;
  };
  num("maxDowntimeMs", 0);
  num("maxRounds", 1);
  num("bandwidthMBps", 0.001);
  if (o.push !== undefined) out.push = o.push !== false;
  return out;
}
