// A node's CPU: its capacity, what each process asks of it, and sharing it.
//
// Capacity (`migrant node --cpus N`) is how many processes the node runs at
// full speed; it defaults to the machine's cores. Several nodes on one
// machine, each with a capacity, then behave as nodes on machines of their
// own would: a node asked for more than its capacity slows its processes
// down, and the balancer (policy/) sees it.
//
// Demand and use: every SAMPLE_MS the node reads each running guest's clock
// (worker/guest-clock.ts). The share of the interval the guest did not wait is
// its demand (a guest that never sleeps: 1, however little of a core the
// machine gave it); demand less the share it was held is its use. Both are
// smoothed over about SMOOTH_S seconds. A process counts as measured once it
// has run here MEASURED_MS; until then the policy takes its demand as 1.
//
// Sharing: while the demands sum above the capacity, each process runs a
// share cpus / demand of every PERIOD_MS and is held at its safepoints for
// the rest (GuestProcess.hold), the holds staggered over the period so that
// about `cpus` guests run at any moment. At or below the capacity nothing is
// held. A held guest still freezes and migrates at once.

import type { GuestProcess } from "../process.js";
import { readClock } from "../worker/guest-clock.js";
import type { ProcessTable } from "./processes.js";

export const SAMPLE_MS = 250;
export const SMOOTH_S = 2;
export const MEASURED_MS = 1500;
export const PERIOD_MS = 100;
const TICK_MS = 10;

/** What the node knows of one process's CPU. */
export interface CpuFigures {
  /** share of a core it wants (0..1) */
  demand: number;
  /** share of a core it got (0..1) */
  use: number;
  /** it has run here long enough for the figures to mean something */
  measured: boolean;
}

interface Sampled extends CpuFigures {
  process: GuestProcess;
  since: number;
  at: number;
  waitedUs: number;
  heldUs: number;
}

export class CpuShare {
  private readonly sampled = new Map<string, Sampled>();
  private readonly timers: NodeJS.Timeout[];
  private holding = false;

  constructor(
    readonly cpus: number,
    private readonly processes: ProcessTable,
  ) {
    this.timers = [setInterval(() => this.sample(), SAMPLE_MS).unref(), setInterval(() => this.share(), TICK_MS).unref()];
  }

  /** A process's figures (a process not sampled yet: demand 1, not measured). */
  of(pid: string): CpuFigures {
    const s = this.sampled.get(pid);
    return s ? { demand: s.demand, use: s.use, measured: s.measured } : { demand: 1, use: 0, measured: false };
  }

  /** The sum of the running processes' demands (an unmeasured one counts 1), and of their use. */
  totals(): { demand: number; use: number } {
    let demand = 0;
    let use = 0;
    for (const p of this.processes.running()) {
      const f = this.of(p.info.pid);
      demand += f.measured ? f.demand : 1;
      use += f.use;
    }
    return { demand, use };
  }

  close(): void {
    for (const t of this.timers) clearInterval(t);
    for (const s of this.sampled.values()) s.process.hold(false);
  }

  private sample(): void {
    const now = performance.now();
    const alpha = Math.min(1, SAMPLE_MS / 1000 / SMOOTH_S);
    const seen = new Set<string>();
    for (const p of this.processes.running()) {
      const gp = p.process;
      if (!gp) continue;
      const pid = p.info.pid;
      seen.add(pid);
      const clock = readClock(gp.memory);
      const s = this.sampled.get(pid);
      if (!s || s.process.memory !== gp.memory) {
        // new here, or arrived on a new memory: start its clock over
        this.sampled.set(pid, { process: gp, since: now, at: now, ...clock, demand: s?.demand ?? 1, use: s?.use ?? 0, measured: false });
        continue;
      }
      s.process = gp; // a variant switch keeps the memory (and its clock)
      const dtUs = (now - s.at) * 1000;
      if (dtUs <= 0) continue;
      const demand = clamp01(1 - (clock.waitedUs - s.waitedUs) / dtUs);
      const use = clamp01(demand - (clock.heldUs - s.heldUs) / dtUs);
      const first = now - s.since <= SAMPLE_MS * 1.5;
      s.demand = first ? demand : s.demand + alpha * (demand - s.demand);
      s.use = first ? use : s.use + alpha * (use - s.use);
      s.measured = now - s.since >= MEASURED_MS;
      Object.assign(s, { at: now, ...clock });
    }
    for (const pid of this.sampled.keys()) if (!seen.has(pid)) this.sampled.delete(pid);
  }

  /** Holds and lets go, so that the node runs about `cpus` guests at a time. */
  private share(): void {
    const running = [...this.sampled.values()].filter((s) => s.process.running);
    const demand = running.reduce((a, s) => a + s.demand, 0);
    if (demand <= this.cpus) {
      if (this.holding) for (const s of running) s.process.hold(false);
      this.holding = false;
      return;
    }
    this.holding = true;
    const share = this.cpus / demand;
    const phase = performance.now() / PERIOD_MS;
    running.forEach((s, i) => {
      const at = (((phase - i / running.length) % 1) + 1) % 1;
      s.process.hold(at >= share);
    });
  }
}

const clamp01 = (x: number) => (x < 0 ? 0 : x > 1 ? 1 : x);
