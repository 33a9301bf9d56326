// The messaging benchmark's part of the report (bench/messaging.ts measures
// it): one table of the four forwarding mechanisms side by side (terminal,
// README markdown, HTML) and its charts.

import { barChart } from "./charts.js";
import { rttMs, type BenchResult } from "./result.js";
import type { MessagingRow } from "./messaging.js";
import { f0, f2, htmlTable, markdown } from "./stats.js";

export const MESSAGING_HEADER = [
  "forwarding",
  "after a move p50 ms",
  "p99 ms",
  "/ RTT",
  "extra hops",
  "steady p50 ms",
  "control msgs / migration",
  "move downtime p50 ms",
  "ring msg/s",
  "ring msg/s moving",
  "migrations",
];

function cells(x: MessagingRow, rttMs: number): string[] {
  return [
    x.mode,
    f2(x.afterMoveP50Ms),
    f2(x.afterMoveP99Ms),
    f2(x.afterMoveP50Ms / rttMs),
    f2(x.afterMoveHops),
    f2(x.steadyP50Ms),
    x.controlPerMigration.toFixed(1),
    f2(x.moveDowntimeP50Ms),
    f0(x.ringMsgsPerSec),
    f0(x.ringMovingMsgsPerSec),
    String(x.ringMigrations),
  ];
}

const rows = (r: BenchResult) => r.messaging?.rows ?? [];
const rtt = (r: BenchResult) => rttMs(r.floor);

/** The mechanisms as rows of the terminal table. */
export function messagingCells(r: BenchResult): string[][] {
  return rows(r).map((x) => cells(x, rtt(r)));
}

/** The README's table. */
export function messagingTable(r: BenchResult): string {
  return markdown(MESSAGING_HEADER, messagingCells(r));
}

/** The HTML section: the table, then latency, hops and control messages, and ring throughput per mechanism. */
export async function messagingSection(r: BenchResult): Promise<string> {
  const list = rows(r);
  if (!list.length) return "";
  const modes = list.map((x) => x.mode);
  const table = htmlTable(MESSAGING_HEADER, messagingCells(r));
  const [latency, costs, ring] = await Promise.all([
    barChart({
      title: "A message to a process that has just moved: delivery latency (sender's node)",
      yLabel: "ms",
      categories: modes,
      series: [
        { name: "after a move p50", values: list.map((x) => x.afterMoveP50Ms) },
        { name: "after a move p99", values: list.map((x) => x.afterMoveP99Ms) },
        { name: "steady p50", values: list.map((x) => x.steadyP50Ms) },
      ],
      rules: [{ y: rtt(r), label: "ws round trip" }],
    }),
    barChart({
      title: "What a move costs: extra hops of the first message after it, control messages per migration",
      yLabel: "count",
      categories: modes,
      series: [
        { name: "hops, 1st msg", values: list.map((x) => x.afterMoveHops) },
        { name: "control / move", values: list.map((x) => x.controlPerMigration) },
      ],
    }),
    barChart({
      title: `Token ring of 4 on 3 nodes, ${list[0].ringMessages} messages`,
      yLabel: "messages / s",
      categories: modes,
      series: [
        { name: "undisturbed", values: list.map((x) => x.ringMsgsPerSec) },
        { name: "members migrating", values: list.map((x) => x.ringMovingMsgsPerSec) },
      ],
    }),
  ]);
  return `<h2>Messages between processes: the four forwarding mechanisms</h2>
<p>Three nodes per mechanism. "After a move": a consumer moves between A and B (pre-copy) and a client sends to it through C at once, then once more (steady); latency is the sender's node's, from the start of the delivery to the answer of the node that took it into the mailbox; extra hops are the nodes the taken copy passed through. Control messages: locates, location updates and their answers, per migration, during the ring run with migrations. Ring: a token ring of 4 processes, undisturbed and with its members migrated at random moments by every strategy (the number of migrations in the last column).</p>
<div class="scroll">${table}</div>
${latency}${costs}${ring}`;
}
