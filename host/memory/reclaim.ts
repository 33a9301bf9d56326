// Giving a let-go guest memory back to the system.
//
// A guest's linear memory is a shared WebAssembly.Memory that the node's main
// thread and the process's worker both hold. When the process ends here (it
// exited, was killed, or moved away) its worker ends and the node drops the
// memory, so it is garbage; but V8 frees a shared buffer only when the main
// thread's heap is next fully collected. A node's own heap hardly grows (a few
// MiB), so that can be minutes later: a node that hosted a 64 MiB guest for a
// moment kept those 64 MiB resident, and a soak's RSS rose and fell by a
// guest's size depending on which node had last let one go.
//
// So letting a memory go asks for a full collection soon after (RECLAIM_DELAY_MS,
// so that the worker has ended and the process table has forgotten the
// process), at most one every RECLAIM_EVERY_MS however many processes end.
// A collection of the node's small heap pauses its main thread for a few
// milliseconds; guests run in their workers and do not pause. The collector
// is V8's own `gc`, exposed at run time (node:v8 setFlagsFromString); where
// that is not possible, nothing is done and the memory is freed when V8
// collects by itself, as before.

import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

export const RECLAIM_DELAY_MS = 300;
export const RECLAIM_EVERY_MS = 2000;

let collect: (() => void) | null | undefined;
let scheduled = false;
let last = -Infinity;

function collector(): (() => void) | null {
  if (collect !== undefined) return collect;
  try {
    setFlagsFromString("--expose-gc");
    const gc: unknown = runInNewContext("typeof gc === 'function' ? gc : null");
    collect = typeof gc === "function" ? (gc as () => void) : null;
  } catch {
    collect = null;
  }
  return collect;
}

/** A guest memory was let go: collect the main thread's heap soon, so that its pages leave the node's RSS. */
export function reclaimSoon(): void {
  if (scheduled) return;
  scheduled = true;
  const wait = Math.max(RECLAIM_DELAY_MS, last + RECLAIM_EVERY_MS - performance.now());
  setTimeout(() => {
    scheduled = false;
    last = performance.now();
    collector()?.();
  }, wait).unref();
}
