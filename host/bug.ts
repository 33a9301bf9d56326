// What a node does with a bug that reaches one of its boundaries: the router
// (a message handler's failure: cluster/router.ts), a worker's messages
// (process.ts), and, last, the process's own uncaughtException and
// unhandledRejection (cli/commands/node.ts). A node runs other people's
// processes: one bug in handling one message must not end them all. So the
// bug is logged, on stderr, with what was being done and its stack the first
// time (the same bug again: a count, at 10, 100, 1000 ...), and the node
// serves on. Nothing is masked: every such line is a bug to report.

import { messageOf } from "./text/thrown.js";

/** Distinct bugs remembered (their counts); the oldest is forgotten first. */
const KINDS = 256;
const seen = new Map<string, number>();

/** Logs a bug met while doing `what` (once with its stack; repeats are counted). */
export function reportBug(what: string, e: unknown): void {
  const kind = `${what}: ${messageOf(e)}`;
  const n = (seen.get(kind) ?? 0) + 1;
  seen.set(kind, n);
  if (seen.size > KINDS) seen.delete(seen.keys().next().value!);
  if (n === 1) {
    const stack = e instanceof Error && e.stack ? e.stack : messageOf(e);
    console.error(`* internal error (a bug: please report it; this node serves on) in ${what}: ${stack}`);
  } else if (Number.isInteger(Math.log10(n))) {
    console.error(`* the same internal error, ${n} times now, in ${kind}`);
  }
}

/** The last boundary: an exception or rejection nobody caught is logged as a bug, and the node serves on. */
export function keepServing(): void {
  process.on("uncaughtException", (e) => reportBug("an event callback (uncaught)", e));
  process.on("unhandledRejection", (e) => reportBug("a promise nobody waited for (unhandled rejection)", e));
}
