// `migrant migrate PID --to NODE`: move a running process live, showing
// progress on a terminal, then its statistics (or one JSON object); exit code
// 0 when it completed. `--cancel PID` cancels one under way; so does Ctrl-C.

import type { Command } from "commander";
import { UsageError } from "../../errors.js";
import { Cluster } from "../../client/cluster.js";
import { REQUESTABLE, type MigrationOptions, type MigrationStats, type Progress } from "../../migration/options.js";
import { formatSize } from "../../text/size.js";
import { stdio } from "../console.js";
import { count, millis, positive, remoteFlags, strategy, toAddress, type RemoteFlags } from "../flags.js";

interface MigrateFlags extends RemoteFlags {
  to?: string;
  strategy: string;
  maxDowntime?: number;
  maxRounds?: number;
  bandwidth?: number;
  push: boolean;
  throttle: boolean;
  compress?: boolean;
  json?: boolean;
  cancel?: string;
}

export function migrateCommand(p: Command): void {
  remoteFlags(
    p
      .command("migrate")
      .description("move a running process to another node, live")
      .argument("[pid]", "the process to move")
      .option("--to <name>", "the destination node")
      .option("--strategy <s>", `${REQUESTABLE.join(" | ")} (auto: chosen for the process, saying why)`, "precopy")
      .option("--max-downtime <ms>", "pre-copy: stop the rounds when what is left fits this", millis)
      .option("--max-rounds <n>", "pre-copy: at most this many rounds", count("--max-rounds", 1))
      .option("--bandwidth <MBps>", "cap the page stream at this many megabytes per second", positive("--bandwidth"))
      .option("--no-push", "post-copy: fetch pages only when the guest touches them")
      .option("--no-throttle", "pre-copy: never slow the guest down to make the rounds converge (auto-converge)")
      .option("--compress", "pack the pages: deflated, and pages sent again as deltas (for slow links; costs CPU on both nodes)")
      .option("--json", "print the statistics as one JSON object")
      .option("--cancel <pid>", "cancel the migration of this process under way (the process stays where it is)"),
  ).action(async (pid: string | undefined, f: MigrateFlags) => {
    const cluster = new Cluster(toAddress(f));
    if (f.cancel) {
      await cluster.cancelMigration(f.cancel);
      stdio.note(`asked to cancel the migration of ${f.cancel}`);
      return;
    }
    if (!pid || !f.to) throw new UsageError("usage: migrant migrate PID --to NODE [--strategy precopy] (or --cancel PID)");
    const options: Partial<MigrationOptions> = {
      strategy: strategy(f.strategy),
      maxDowntimeMs: f.maxDowntime,
      maxRounds: f.maxRounds,
      bandwidthMBps: f.bandwidth,
      push: f.push,
      throttle: f.throttle,
      compress: f.compress,
    };
    const stats = await migrateShowing(cluster, pid, f.to, options, !!f.json);
    stdio.out(f.json ? JSON.stringify(stats) : describe(stats));
    process.exitCode = stats.result === "completed" ? 0 : 1;
  });
}

/** Migrates with a progress line on a terminal; Ctrl-C cancels. */
async function migrateShowing(
  cluster: Cluster,
  pid: string,
  to: string,
  options: Partial<MigrationOptions>,
  json: boolean,
): Promise<MigrationStats> {
  const tty = process.stderr.isTTY && !json;
  const onSigint = () => {
    stdio.note("cancelling the migration ...");
    void cluster.cancelMigration(pid).catch(() => undefined);
  };
  const show = (g: Progress) =>
    tty &&
    process.stderr.write(
      `\r\x1b[K${g.phase}: ${Math.max(0, g.pagesLeft)} pages left, ${formatSize(g.bytesSent)} sent, ${g.mbps.toFixed(0)} MB/s`,
    );
  process.on("SIGINT", onSigint);
  try {
    return await cluster.migrate(pid, to, options, show);
  } finally {
    process.off("SIGINT", onSigint);
    if (tty) process.stderr.write("\r\x1b[K");
  }
}

function describe(s: MigrationStats): string {
  const ms = (n: number) => `${n.toFixed(2)} ms`;
  const rows: Array<[string, string]> = [
    ["process", `${s.pid}: ${s.from} -> ${s.to}`],
    ["result", s.result + (s.error ? `: ${s.error}` : "")],
    ["strategy", s.auto ? `${s.strategy}, chosen by auto: ${s.auto.reason}` : s.strategy],
    ...(s.auto
      ? ([["auto predicted", `downtime ${ms(s.auto.predictedDowntimeMs)}, progress lost ${ms(s.auto.predictedLostMs)}`]] as Array<
          [string, string]
        >)
      : []),
    ["total time", ms(s.totalMs)],
    ["setup", ms(s.setupMs)],
    ["downtime", `${ms(s.downtimeMs)} (the guest's; ${ms(s.handoverMs)} as the source saw it)`],
    ["other pauses", `switch to tracking ${ms(s.switchPauseMs)} (of ${ms(s.switchMs)}), switch back ${ms(s.switchBackPauseMs)}`],
    ["every pause", ms(s.pausesMs)],
    ["rounds", `${s.rounds}${s.pagesPerRound.length ? ` (pages per round: ${s.pagesPerRound.join(", ")})` : ""}`],
    ["pages sent", String(s.pagesSent)],
    ["zero pages skipped", String(s.zeroPagesSkipped)],
    [
      "bytes sent",
      formatSize(s.bytesSent) +
        (s.rawBytes !== s.bytesSent ? ` (compressed from ${formatSize(s.rawBytes)}, ${s.deltaPages} pages as deltas)` : ""),
    ],
    ["bandwidth", `${s.mbps.toFixed(1)} MB/s`],
    ["dirty rate", `${s.dirtyRate} pages/s`],
    ["throttle", s.throttlePct ? `up to ${s.throttlePct}% of the time, held the guest ${ms(s.throttledMs)}` : "none"],
    ["post-copy faults", `${s.faults}${s.faults ? ` (latency p50 ${s.faultP50Us} us, p99 ${s.faultP99Us} us)` : ""}`],
  ];
  return rows.map(([k, v]) => `${k.padEnd(20)} ${v}`).join("\n");
}
