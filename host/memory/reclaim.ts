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
//
// Then the C allocator. A migration's page batches, socket reads and frames
// come and go through glibc's malloc; its main heap grows with them and keeps
// the freed holes resident, since it only gives back what is free at its top.
// Over a soak that was 40-65 MiB of a node's RSS, and most of its drift.
// malloc_trim(0) hands every free page in every arena back to the kernel, so
// the collection is followed by one (called through koffi, a foreign function
// interface; where there is no glibc, nothing is done).

import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { createRequire } from "node:module";

export const RECLAIM_DELAY_MS = 300;
export const RECLAIM_EVERY_MS = 2000;

let collect: (() => void) | null | undefined;
let trim: (() => void) | null | undefined;
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

/** glibc's malloc_trim(0), or null where it cannot be called (another C library, no koffi build for this platform). */
function trimmer(): (() => void) | null {
  if (trim !== undefined) return trim;
  trim = null;
  if (process.platform !== "linux") return trim;
  try {
    const koffi = createRequire(import.meta.url)("koffi") as typeof import("koffi");
    const mallocTrim = koffi.load("libc.so.6").func("int malloc_trim(size_t)") as (pad: number) => number;
    trim = () => void mallocTrim(0);
  } catch {
    /* not glibc, or no koffi binary here: the allocator keeps its pages */
  }
  return trim;
}

/**
 * A guest memory was let go, or a migration's buffers: collect the main
 * thread's heap soon and trim the allocator, so that their pages leave the node's RSS.
 */
export function reclaimSoon(): void {
  if (scheduled) return;
  scheduled = true;
  const wait = Math.max(RECLAIM_DELAY_MS, last + RECLAIM_EVERY_MS - performance.now());
  setTimeout(() => {
    scheduled = false;
    last = performance.now();
    collector()?.();
    trimmer()?.();
  }, wait).unref();
}
