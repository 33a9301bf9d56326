// Freeze latency: the time from a freeze request (interrupt word set) to the
// node hearing that the guest has unwound, at random moments of each
// workload's run (after its first output line); and the time to capture the
// snapshot of the frozen process.

import { join } from "node:path";
import { buildCached } from "../host/build/cache.js";
import { Image } from "../host/image.js";
import { GuestProcess } from "../host/process.js";
import { OVERHEAD_ARGS } from "./overhead.js";
import { WORKLOAD_DIR } from "./workloads.js";
import { percentile } from "./stats.js";

export interface LatencyRow {
  guest: string;
  samples: number;
  freezeP50Ms: number;
  freezeP99Ms: number;
  captureP50Ms: number;
}

export async function measureFreezeLatency(workloads: string[], samples: number, log: (s: string) => void): Promise<LatencyRow[]> {
  const rows: LatencyRow[] = [];
  for (const w of workloads.map((name) => ({ name, args: OVERHEAD_ARGS[name] }))) {
    const image = Image.fromBytes(await buildCached(join(WORKLOAD_DIR, `${w.name}.ts`), {}, () => undefined), w.name);
    const freeze: number[] = [];
    const capture: number[] = [];
    for (let i = 0; i < samples; i++) {
      let started!: () => void;
      const running = new Promise<void>((r) => (started = r));
      const p = GuestProcess.start(image, { pid: "B.1", node: "B", args: w.args, onOutput: () => started() });
      await running; // the guest is past its start-up
      await new Promise((r) => setTimeout(r, 5 + Math.random() * 60));
      const t0 = performance.now();
      const state = await p.freeze();
      const t1 = performance.now();
      if (!state) continue;
      p.capture();
      capture.push(performance.now() - t1);
      freeze.push(t1 - t0);
      await p.kill();
    }
    const row = {
      guest: w.name,
      samples: freeze.length,
      freezeP50Ms: percentile(freeze, 50),
      freezeP99Ms: percentile(freeze, 99),
      captureP50Ms: percentile(capture, 50),
    };
    rows.push(row);
    log(`freeze: ${w.name} p50 ${row.freezeP50Ms.toFixed(3)} ms, p99 ${row.freezeP99Ms.toFixed(3)} ms (${row.samples} samples)`);
  }
  return rows;
}
