// The memory layout of a migratable module (docs/DESIGN.md section 3).
//
// asc's --memoryBase R keeps [0, R) free for the host; the guest's static data
// and heap start at R. The host's reserved region holds, in this order:
//
//   CTRL          control words, written by the host with Atomics:
//                   word 0  interrupt bits: any makes the guest's next safepoint
//                           poll call the host; FREEZE asks it to unwind, HOLD
//                           to pause there until cleared (the node's CPU share,
//                           cluster/cpu-share.ts)
//                   word 1  wake counter: bumped (and notified) whenever a
//                           blocked guest should look again (sleep, page fault)
//                   word 2  the page the guest is waiting for (post-copy)
//                   word 3  output lines the guest printed that the node has
//                           not given back yet; at OUTPUT_WINDOW the guest's
//                           print waits (cluster/output-flow.ts)
//                   word 4  microseconds a THROTTLE interrupt pauses the guest
//                           at its next safepoint (pre-copy's auto-converge,
//                           migration/source/throttle.ts)
//                   word 5  orders counter: bumped (and notified) after every
//                           message the node posts to a worker, so that a worker
//                           waiting for its orders (a warm one, a frozen one)
//                           takes them at once (worker/guest-worker.ts)
//   CLOCK         five 64-bit words the worker writes with Atomics, in
//                 microseconds: time its guest spent waiting (sleep, recv,
//                 send, a full output window, a page fault) in waits that
//                 ended, and when the current wait began (0: none); the
//                 same for the time the node held it; and of that held time,
//                 what the throttle took. The node reads its guests' CPU
//                 demand and use from them (worker/guest-clock.ts).
//   ASYNC_DATA    Asyncify's {cur, end} pair
//   ASYNC_START.. the Asyncify buffer: the saved call stack of a frozen guest
//   DIRTY         one byte per tracked page, set to 1 by the write barrier
//   PRESENT       one byte per tracked page, 0 = not yet fetched (post-copy)
//
// The Asyncify buffer sits right below the dirty map on purpose: Asyncify only
// notices an overflow after it has written past the end, and what it then
// overwrites is host-owned bookkeeping (the two maps) rather than the guest's
// data, so an overflow that stays within the maps is reported and the process
// kept running (docs/DESIGN.md section 5, invariant 7; worker/guest-worker.ts
// finishUnwind).
//
// Byte maps, not bit maps: the barrier is a single i32.store8, with no
// read-modify-write race against the host clearing it.
//
// The layout travels inside the module as the custom section `migrant` (JSON,
// with a format version); a node refuses a module without it or with another
// version.

import { ModuleFormatError } from "../errors.js";

export const FORMAT_VERSION = 1;
export const SECTION_NAME = "migrant";
export const WASM_PAGE = 65536;

export const CTRL = 256;
export const CTRL_INTERRUPT = 0;
export const CTRL_WAKE = 1;
export const CTRL_FAULT_PAGE = 2;
export const CTRL_OUTPUT = 3;
export const CTRL_THROTTLE_US = 4;
export const CTRL_ORDERS = 5;
/** Bits of the interrupt word. */
export const INTERRUPT_FREEZE = 1;
export const INTERRUPT_HOLD = 2;
export const INTERRUPT_THROTTLE = 4;
/** The clock words (BigInt64, microseconds; see the header). */
export const CLOCK = CTRL + 64;
export const CLOCK_WAITED = 0;
export const CLOCK_WAIT_BEGAN = 1;
export const CLOCK_HELD = 2;
export const CLOCK_HOLD_BEGAN = 3;
export const CLOCK_THROTTLED = 4;
export const CLOCK_WORDS = 5;
/** Output lines a guest may have in flight to its node before its print waits. */
export const OUTPUT_WINDOW = 256;
export const ASYNC_DATA = 512;
export const ASYNC_START = 4096;

export interface GlobalSlot {
  /** export name of the mutable global */
  export: string;
  /** wasm value type */
  type: "i32" | "i64" | "f32" | "f64";
}

export interface Layout {
  version: number;
  /** tracked page size in bytes (power of two) */
  pageSize: number;
  /** log2(pageSize) */
  pageShift: number;
  /** maximum memory, in 64 KiB Wasm pages */
  maxPages: number;
  /** initial memory the module declares, in Wasm pages */
  initialPages: number;
  /** number of tracked pages covering the maximum memory */
  trackedPages: number;
  asyncStart: number;
  asyncEnd: number;
  dirty: number;
  present: number;
  /** start of the guest's memory (asc's --memoryBase) */
  base: number;
  /** every mutable global, exported so that it can be saved and restored */
  globals: GlobalSlot[];
  /** the largest Asyncify frame of any function, in bytes (an estimate) */
  maxFrameBytes: number;
  /** which module variants the file carries (see instrument/variants.ts) */
  variants: string[];
}

const align = (n: number, a: number) => Math.ceil(n / a) * a;

/** Reserved-region layout for a maximum memory size, tracked page size and Asyncify buffer size. */
export function planLayout(maxBytes: number, pageSize: number, asyncBytes: number): Layout {
  const maxPages = Math.ceil(maxBytes / WASM_PAGE);
  const trackedPages = (maxPages * WASM_PAGE) / pageSize;
  const asyncEnd = ASYNC_START + align(asyncBytes, 16);
  const dirty = align(asyncEnd, 4096);
  const present = dirty + align(trackedPages, 4096);
  const base = align(present + align(trackedPages, 4096), WASM_PAGE);
  return {
    version: FORMAT_VERSION,
    pageSize,
    pageShift: Math.log2(pageSize),
    maxPages,
    initialPages: 0,
    trackedPages,
    asyncStart: ASYNC_START,
    asyncEnd,
    dirty,
    present,
    base,
    globals: [],
    maxFrameBytes: 0,
    variants: [],
  };
}

export function encodeLayout(layout: Layout): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(layout));
}

const HOW_TO_BUILD = "build the guest with `migrant build prog.ts -o prog.wasm` and run that file";

/** Reads and checks the `migrant` custom section of a compiled module. */
export function layoutOf(module: WebAssembly.Module, what: string): Layout {
  const sections = WebAssembly.Module.customSections(module, SECTION_NAME);
  if (sections.length === 0) {
    throw new ModuleFormatError(`${what} was not built by migrant build (it has no \`migrant\` section); ${HOW_TO_BUILD}`);
  }
  let layout: Layout;
  try {
    layout = JSON.parse(new TextDecoder().decode(sections[0]));
  } catch {
    throw new ModuleFormatError(`${what} has an unreadable \`migrant\` section; ${HOW_TO_BUILD}`);
  }
  if (layout.version !== FORMAT_VERSION) {
    throw new ModuleFormatError(
      `${what} was built for migrant module format ${layout.version}, this migrant reads format ${FORMAT_VERSION}; rebuild it: ${HOW_TO_BUILD}`,
    );
  }
  return layout;
}
