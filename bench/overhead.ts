// Instrumentation overhead: each workload's run time (inside its worker) for
// a fixed amount of work in each module variant, against an uninstrumented
// build of the same source with the same asc flags. Runs are interleaved
// (baseline, plain, track, postcopy, baseline, ...) so that a noisy neighbour
// hurts all alike; the median of the repetitions is reported, with the spread
// of the per-repetition ratios (each variant's run against the baseline run
// of its own repetition: the neighbours they shared), OVERHEAD_REPS of them at
// least. Run time for a fixed amount of work is the inverse of the rate, so
// the ratio is the same.

import { join } from "node:path";
import { buildPlain } from "../host/build/build.js";
import { buildCached } from "../host/build/cache.js";
import { Image } from "../host/image.js";
import { GuestProcess } from "../host/process.js";
import { VARIANT_NAMES, type Variant } from "../host/instrument/variants.js";
import type { Layout } from "../host/memory/layout.js";
import { geomean, median } from "./stats.js";
import { WORKLOAD_DIR } from "./workloads.js";

/** Each workload at 16 MiB with about a second of work (idle sleeps most of its time, as it should). */
export const OVERHEAD_ARGS: Record<string, string[]> = {
  kvstore: ["16", "20000000"],
  life: ["16", "3"],
  nbody: ["0", "1500000"],
  sort: ["16", "3"],
  hash: ["16", "1"],
  gc: ["16", "500000"],
  idle: ["16", "20"],
};

/** Interleaved repetitions per workload: one or two would let a noisy neighbour decide (x0.74 in one run, x1.50 in the next). */
export const OVERHEAD_REPS = 5;

export interface OverheadRow {
  guest: string;
  baselineMs: number;
  /** run time of each variant / baseline (medians) */
  ratio: Record<Variant, number>;
  /** the lowest and highest ratio of one repetition (a variant's run / its repetition's baseline run) */
  spread: Record<Variant, [number, number]>;
  reps: number;
}

async function timeRun(start: () => GuestProcess): Promise<number> {
  const p = start();
  const s = await p.exited;
  if (s.error) throw new Error(`benchmark run failed: ${s.error}`);
  return p.runMs;
}

export async function measureOverhead(
  workloads: string[],
  reps: number,
  log: (s: string) => void,
): Promise<{ rows: OverheadRow[]; geomean: Record<Variant, number> }> {
  const rows: OverheadRow[] = [];
  for (const name of workloads) {
    const w = { name, args: OVERHEAD_ARGS[name] };
    const file = join(WORKLOAD_DIR, `${name}.ts`);
    log(`overhead: ${w.name} (building)`);
    const image = Image.fromBytes(await buildCached(file, {}, () => undefined), w.name);
    const plain = await buildPlain(file, { stderr: process.stderr });
    const baseModule = new WebAssembly.Module(plain.wasm as Uint8Array<ArrayBuffer>);
    const opts = { pid: "B.1", node: "B", args: w.args };
    const base: number[] = [];
    const byVariant = Object.fromEntries(VARIANT_NAMES.map((v) => [v, [] as number[]])) as Record<Variant, number[]>;
    for (let r = 0; r < reps; r++) {
      base.push(await timeRun(() => GuestProcess.startUninstrumented(baseModule, plain.layout as Layout, opts)));
      for (const v of VARIANT_NAMES) byVariant[v].push(await timeRun(() => GuestProcess.start(image, { ...opts, variant: v })));
    }
    const b = median(base);
    const ratio = Object.fromEntries(VARIANT_NAMES.map((v) => [v, median(byVariant[v]) / b])) as Record<Variant, number>;
    const spread = Object.fromEntries(
      VARIANT_NAMES.map((v) => {
        const each = byVariant[v].map((t, i) => t / base[i]);
        return [v, [Math.min(...each), Math.max(...each)]];
      }),
    ) as Record<Variant, [number, number]>;
    rows.push({ guest: w.name, baselineMs: b, ratio, spread, reps });
    log(
      `overhead: ${w.name} baseline ${b.toFixed(0)} ms, plain x${ratio.plain.toFixed(2)}, track x${ratio.track.toFixed(2)}, postcopy x${ratio.postcopy.toFixed(2)}`,
    );
  }
  const g = Object.fromEntries(VARIANT_NAMES.map((v) => [v, geomean(rows.map((r) => r.ratio[v]))])) as Record<Variant, number>;
  return { rows, geomean: g };
}
