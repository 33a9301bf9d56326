// What one benchmark run writes to bench/results/<date>.json, and the targets
// of issue 5 judged against it.

import type { Floor } from "./floor.js";
import type { OverheadRow } from "./overhead.js";
import type { SuiteResult, SuiteRow } from "./suite.js";
import type { Variant } from "../host/instrument/variants.js";
import type { MessagingResult } from "./messaging.js";
import { compressionTarget } from "./compression-report.js";

export interface BenchResult {
  when: string;
  machine: { cpus: number; cpu: string | undefined; node: string };
  options: { workloads: string[]; strategies: string[]; sizes: number[]; reps: number; quick: boolean };
  /** the --link set-up, or why it was not used */
  link: { rate: string; delayMs: number | null; notes: string[] } | { refused: string } | null;
  floor: Floor;
  overhead: { rows: OverheadRow[]; geomean: Record<Variant, number> } | null;
  suite: SuiteResult;
  rows: SuiteRow[];
  /** the four forwarding mechanisms side by side, or null when not measured */
  messaging: MessagingResult | null;
}

export interface Target {
  target: string;
  met: boolean | null;
  detail: string;
}

/** The floor's round trip, ms. */
export const rttMs = (f: Floor) => f.rttP50Us / 1000;

/** Issue 12, target 5: a total freeze streams its pages at this share of the ws rate the floor measured. */
const FREEZE_LINK_SHARE = 0.8;

/** The floor link rate for a transfer in either direction. */
export const linkMBps = (f: Floor) => Math.min(f.upMBps, f.downMBps);

export function judgeTargets(result: BenchResult): Target[] {
  const out: Target[] = [];
  // the targets judge the migrations as they run by default; --compress rows have a target of their own
  const r = { ...result, rows: result.rows.filter((x) => !x.compress) };
  const at64 = r.rows.filter((x) => x.sizeMiB === 64);
  const list = (rows: SuiteRow[]) => rows.map((x) => `${x.workload} ${x.sizeMiB} MiB ${x.downtimeP50Ms.toFixed(2)} ms`).join(", ");
  const judge = (target: string, rows: SuiteRow[], ok: (x: SuiteRow) => boolean, none: string) => {
    if (!rows.length) return out.push({ target, met: null, detail: none });
    const bad = rows.filter((x) => !ok(x) || x.failed > 0);
    out.push({ target, met: bad.length === 0, detail: bad.length ? `not met by ${list(bad)}` : `met by all ${rows.length}` });
  };
  judge(
    "pre-copy downtime p50 <= 2 ms at 64 MiB (life excepted)",
    at64.filter((x) => x.strategy === "precopy" && x.workload !== "life"),
    (x) => x.downtimeP50Ms <= 2,
    "no pre-copy run at 64 MiB in this run",
  );
  judge(
    "post-copy downtime p50 <= 2 ms at every size",
    r.rows.filter((x) => x.strategy === "postcopy"),
    (x) => x.downtimeP50Ms <= 2,
    "no post-copy run in this run",
  );
  out.push(...pauseTargets(at64, judge));
  const link = linkMBps(r.floor);
  const freeze = r.rows.filter((x) => x.strategy === "freeze" && x.mbSent >= 8); // tiny transfers measure latency, not rate
  const freezeTarget = `total freeze streams at >= ${FREEZE_LINK_SHARE} of the measured ws rate (issue 12)`;
  if (freeze.length) {
    const bad = freeze.filter((x) => x.mbps < link * FREEZE_LINK_SHARE);
    out.push({
      target: `${freezeTarget}: ${(link * FREEZE_LINK_SHARE).toFixed(0)} MB/s`,
      met: bad.length === 0,
      detail: bad.length
        ? `below it: ${bad.map((x) => `${x.workload} ${x.sizeMiB} MiB ${x.mbps.toFixed(0)} MB/s`).join(", ")}`
        : `met by all ${freeze.length} (of >= 8 MB)`,
    });
  } else out.push({ target: freezeTarget, met: null, detail: "no freeze run of >= 8 MB in this run" });
  if (r.overhead) {
    const g = r.overhead.geomean;
    out.push({
      target: "instrumentation overhead geomean <= 1.5x",
      met: g.plain <= 1.5,
      detail: `plain (what runs when not migrating) x${g.plain.toFixed(2)}; track x${g.track.toFixed(2)} during pre-copy; postcopy x${g.postcopy.toFixed(2)} during post-copy`,
    });
    out.push({
      target: "plain (what runs when not migrating) overhead geomean <= 1.1x (issue 12)",
      met: g.plain <= 1.1,
      detail: `x${g.plain.toFixed(2)} over ${r.overhead.rows.length} workloads, ${r.overhead.rows[0]?.reps ?? 0} interleaved repetitions each`,
    });
  } else out.push({ target: "instrumentation overhead geomean <= 1.5x", met: null, detail: "overhead not measured in this run" });
  out.push(compressionTarget(result));
  return out;
}

const otherPause = (x: SuiteRow) => Math.max(x.switchPauseP50Ms, x.switchBackPauseP50Ms);

/** A target met when no row is `bad`; its detail names the bad ones as `show` says. */
function rowsTarget(target: string, rows: SuiteRow[], bad: (x: SuiteRow) => boolean, show: (x: SuiteRow) => string, none: string): Target {
  const failing = rows.filter(bad);
  return {
    target,
    met: rows.length ? failing.length === 0 : null,
    detail: !rows.length ? none : failing.length ? `not met by ${failing.map(show).join(", ")}` : `met by all ${rows.length}`,
  };
}

type Judge = (target: string, rows: SuiteRow[], ok: (x: SuiteRow) => boolean, none: string) => unknown;

/** Issue 12's targets on the pauses a guest sees, at 64 MiB. */
function pauseTargets(at64: SuiteRow[], judge: Judge): Target[] {
  const out: Target[] = [];
  const live = at64.filter((x) => x.strategy === "precopy" || x.strategy === "postcopy");
  judge(
    "downtime as the guest sees it p50 <= 1 ms, pre-copy and post-copy, every workload at 64 MiB (issue 12)",
    live,
    (x) => x.downtimeP50Ms <= 1,
    "no pre-copy or post-copy run at 64 MiB in this run",
  );
  judge(
    "kvstore and gc pre-copy downtime p50 <= 5 ms at 64 MiB, by auto-converge (issue 12)",
    at64.filter((x) => x.strategy === "precopy" && (x.workload === "kvstore" || x.workload === "gc")),
    (x) => x.downtimeP50Ms <= 5,
    "no kvstore or gc pre-copy run at 64 MiB in this run",
  );
  out.push(
    rowsTarget(
      "--strategy auto: progress lost p50 <= 50 ms per migration, every workload at 64 MiB (issue 12)",
      at64.filter((x) => x.strategy === "auto"),
      (x) => x.lostMsP50 > 50 || x.failed > 0,
      (x) => `${x.workload} (${x.auto?.chose ?? "?"}) ${x.lostMsP50.toFixed(0)} ms`,
      "no auto run at 64 MiB in this run",
    ),
    rowsTarget(
      "post-copy fault latency p50 <= 0.5 ms and p99 <= 2 ms while the push runs, at 64 MiB (issue 12)",
      at64.filter((x) => x.strategy === "postcopy" && x.faults > 0),
      (x) => x.faultP50Us > 500 || x.faultP99Us > 2000,
      (x) => `${x.workload} ${(x.faultP50Us / 1000).toFixed(2)}/${(x.faultP99Us / 1000).toFixed(2)} ms`,
      "no post-copy run with faults at 64 MiB in this run",
    ),
    rowsTarget(
      "every other pause (the switch to tracking, the switch back) p50 <= 1 ms at 64 MiB (issue 12)",
      at64.filter((x) => x.strategy !== "freeze"),
      (x) => otherPause(x) > 1,
      (x) => `${x.workload} ${x.strategy} ${otherPause(x).toFixed(2)} ms`,
      "no live migration at 64 MiB in this run",
    ),
  );
  return out;
}
