// The guest runner: one worker thread runs one process.
//
// It instantiates the process's module variant on the process's shared memory
// and serves the guest's imports. Freezing is cooperative: the node sets the
// interrupt word; at its next safepoint poll the guest calls __freeze, which
// starts an Asyncify unwind; every frame saves its locals into the Asyncify
// buffer and returns, until the export the worker called (_start or main)
// returns to here. The worker then stops the unwind and reports the globals
// and the buffer's fill level: with the memory that is the whole state. A sleep
// is a freeze point too: the worker blocks in Atomics.wait on the wake word,
// and an interrupt wakes it to unwind with the sleep's remaining time.
//
// Messages (send, recv) are freeze points of the same kind. The node keeps
// the process's mailbox and puts each message, numbered, into the worker's
// inbox port, read synchronously while the guest waits (inbox.ts). The worker
// tells the node which message the guest took (`took`) and keeps its cursor
// (last message received, last send completed, last sender) in the frozen
// state. A send is one at a time: the guest waits until the node says it is in
// the receiver's mailbox (or refused). Frozen while it waits, the same send is
// waited for again after the rewind, never sent twice: the node carries it on.
//
// Resuming (in this worker after a cancelled freeze, or in a fresh worker on a
// restored memory): set the globals, asyncify_start_rewind, and call the same
// export again. Asyncify skips straight back down the saved call stack to the
// import that unwound, which sees the rewinding state, stops the rewind, and
// returns (sleep carries on with the remaining time) as if nothing happened.
//
// The host also calls into the guest from inside imports (__new for a string
// it hands over). Those nested calls never unwind: the runtime has no polls,
// and __freeze ignores an interrupt while one is under way.

import { parentPort, workerData } from "node:worker_threads";
import * as loader from "@assemblyscript/loader";
import {
  ASYNC_DATA,
  CTRL,
  CTRL_FAULT_PAGE,
  CTRL_INTERRUPT,
  CTRL_OUTPUT,
  CTRL_WAKE,
  INTERRUPT_FREEZE,
  OUTPUT_WINDOW,
  WASM_PAGE,
} from "../memory/layout.js";
import type { CallOp, FromWorker, FrozenState, WorkerInit } from "./messages.js";
import { Inbox, type Answer } from "./inbox.js";
import { describeTrap, GuestAbort, GuestExit } from "./traps.js";
import { MAX_MESSAGE } from "../messaging/process-mail.js";
import { epochMs, GuestClock } from "./guest-clock.js";
import { awaitOrders, held, throttled } from "./waits.js";
import { prefault } from "../memory/pages.js";
import { loadGlobals, saveGlobals } from "./globals.js";

const init = workerData as WorkerInit;
const port = parentPort!;
const { memory, layout } = init;
const ctrl = new Int32Array(memory.buffer, CTRL, 16);
const present = new Uint8Array(memory.buffer, layout.present, layout.trackedPages);
const dirty = new Uint8Array(memory.buffer, layout.dirty, layout.trackedPages);
const asyncData = new Int32Array(memory.buffer, ASYNC_DATA, 2);

const UNWINDING = 1;
const REWINDING = 2;

let phase: FrozenState["phase"] = "start";
let resumeSleep: number | null = null;
let frozenSleep: number | null = null;
let nested = 0;
/** milliseconds spent inside the guest's exports in this worker (for benchmarks) */
let runMs = 0;

/** How long register and whereis wait for the node's answer. */
const ASK_MS = 60_000;
let askId = 0;
const clock = new GuestClock(memory);
const inbox = new Inbox(init.inbox, ctrl, interrupted, clock);

const send = (m: FromWorker) => port.postMessage(m);

/** The instrumented module's own exports: Asyncify's controls, the entry points, the saved globals. */
interface GuestExports {
  asyncify_start_unwind(addr: number): void;
  asyncify_stop_unwind(): void;
  asyncify_start_rewind(addr: number): void;
  asyncify_stop_rewind(): void;
  /** absent in an uninstrumented build (the overhead benchmark's baseline) */
  asyncify_get_state?(): number;
  [name: string]: unknown;
}

let raw: GuestExports;
/** the same exports through @assemblyscript/loader: strings in and out of the guest */
let ext: loader.ASUtil;

function interrupted(): boolean {
  return nested === 0 && (Atomics.load(ctrl, CTRL_INTERRUPT) & INTERRUPT_FREEZE) !== 0;
}

/** When the guest last stopped for a freeze (epoch ms): its last instruction before the unwind. */
let stoppedAt = 0;

function startUnwind(): void {
  stoppedAt = epochMs();
  asyncData[0] = layout.asyncStart;
  asyncData[1] = layout.asyncEnd;
  raw.asyncify_start_unwind(ASYNC_DATA);
}

/** Waits until the node has installed `page` (post-copy). */
function awaitPage(page: number): void {
  if (Atomics.load(present, page)) return;
  Atomics.store(ctrl, CTRL_FAULT_PAGE, page);
  send({ t: "fault", page });
  clock.waiting(() => {
    for (;;) {
      const seen = Atomics.load(ctrl, CTRL_WAKE);
      if (Atomics.load(present, page)) return;
      Atomics.wait(ctrl, CTRL_WAKE, seen, 1000);
    }
  });
}

/** The host is about to read or write guest bytes directly, past the barriers. */
function hostTouch(addr: number, len: number, write: boolean): void {
  if (len <= 0) return;
  const first = addr >>> layout.pageShift;
  const last = Math.min((addr + len - 1) >>> layout.pageShift, layout.trackedPages - 1);
  for (let p = first; p <= last; p++) {
    if (init.variant === "postcopy") awaitPage(p);
    if (write) dirty[p] = 1;
  }
}

const STRING_ID = 2; // idof<string>() in AssemblyScript

/**
 * Allocates a string in the guest, pinned, for an import to return. In the
 * post-copy variant the payload's pages must be present *before* the host
 * writes them (a page arriving later would overwrite the string), so there the
 * string is allocated with __new, its pages awaited, then filled; otherwise the
 * loader's __newString does it all.
 */
function newString(s: string): number {
  nested++;
  try {
    let ptr: number;
    if (init.variant === "postcopy") {
      ptr = ext.__new(s.length << 1, STRING_ID);
      hostTouch(ptr, s.length << 1, true);
      const chars = new Uint16Array(memory.buffer, ptr, s.length);
      for (let i = 0; i < s.length; i++) chars[i] = s.charCodeAt(i);
    } else {
      ptr = ext.__newString(s);
      hostTouch(ptr, s.length << 1, true);
    }
    ext.__pin(ptr);
    return ptr;
  } finally {
    nested--;
  }
}

const ARRAY_BUFFER_ID = 1; // idof<ArrayBuffer>()

/** Allocates an ArrayBuffer in the guest holding `data`, pinned (as newString). */
function newBuffer(data: Uint8Array): number {
  nested++;
  try {
    const ptr = ext.__new(data.length, ARRAY_BUFFER_ID);
    hostTouch(ptr, data.length, true);
    new Uint8Array(memory.buffer, ptr, data.length).set(data);
    ext.__pin(ptr);
    return ptr;
  } finally {
    nested--;
  }
}

/** A copy of the bytes of a guest ArrayBuffer (its size is in the object header). */
function readBuffer(ptr: number): Uint8Array {
  hostTouch(ptr - 4, 4, false);
  const len = new Uint32Array(memory.buffer, ptr - 4, 1)[0];
  hostTouch(ptr, len, false);
  return new Uint8Array(memory.buffer, ptr, len).slice();
}

function readString(ptr: number): string {
  if (init.variant === "postcopy") {
    hostTouch(ptr - 4, 4, false);
    hostTouch(ptr, new Uint32Array(memory.buffer, ptr - 4, 1)[0], false);
  }
  return ext.__getString(ptr);
}

/** The deadline of a blocking call: a fresh one, or the remainder it was frozen with (-1: none). */
function deadlineOf(ms: number): number {
  if (raw.asyncify_get_state?.() === REWINDING) {
    raw.asyncify_stop_rewind();
    ms = resumeSleep ?? 0;
    resumeSleep = null;
  }
  return ms < 0 ? Infinity : performance.now() + ms;
}

/** Unwinds from a blocking call, keeping the time it had left. */
function freezeIn(deadline: number): void {
  frozenSleep = deadline === Infinity ? -1 : Math.max(0, deadline - performance.now());
  startUnwind();
}

function sleep(ms: number): void {
  const deadline = deadlineOf(Math.max(0, ms));
  if (inbox.wait(() => false, deadline) === "interrupted") freezeIn(deadline);
}

function recv(timeoutMs: number): number {
  const deadline = deadlineOf(timeoutMs);
  const r = inbox.waitForMessage(deadline);
  if (r === "interrupted") freezeIn(deadline);
  if (r !== "ready") return 0;
  const m = inbox.take();
  send({ t: "took", i: m.i });
  return newBuffer(m.data);
}

function sendMessage(toPtr: number, dataPtr: number): number {
  if (raw.asyncify_get_state?.() === REWINDING) {
    // frozen while this send was under way: the node carried it on; wait for its outcome
    raw.asyncify_stop_rewind();
  } else {
    const to = readString(toPtr);
    const data = readBuffer(dataPtr);
    if (data.length > MAX_MESSAGE) throw new GuestAbort(`send: a message of ${data.length} bytes is over the ${MAX_MESSAGE}-byte limit`);
    inbox.beginSend();
    send({ t: "send", n: inbox.cursor.sent + 1, to, data });
  }
  if (inbox.waitForOutcome() === "interrupted") {
    frozenSleep = null;
    startUnwind();
    return 0;
  }
  return inbox.endSend() ? 1 : 0;
}

/**
 * Hands a line to the node. With OUTPUT_WINDOW lines not yet taken (its
 * readers are slow), waits until half of them are, or a freeze is asked for
 * (the line is out; the guest freezes at its next poll): a full pipe.
 */
function print(line: string): void {
  const inFlight = Atomics.add(ctrl, CTRL_OUTPUT, 1) + 1; // counted before it is sent: the node gives it back after
  send({ t: "out", line });
  if (inFlight < OUTPUT_WINDOW) return;
  inbox.wait(() => Atomics.load(ctrl, CTRL_OUTPUT) < OUTPUT_WINDOW / 2, Infinity);
}

/**
 * Asks the node (register, whereis) and waits for the answer. Not a freeze
 * point: whereis takes a round of the members (a second at most); a register
 * that races others for a name may take longer, and a freeze waits for it.
 */
function ask(op: CallOp, arg: string): Answer {
  const id = ++askId;
  send({ t: "call", id, op, arg });
  const value = inbox.answer(id, performance.now() + ASK_MS);
  if (value === undefined) throw new GuestAbort(`${op}: the node did not answer`);
  return value;
}

const imports = {
  env: {
    memory,
    abort(msg: number, file: number, line: number, col: number) {
      const text = msg ? readString(msg) : "abort";
      const where = file ? ` at ${readString(file)}:${line}:${col}` : "";
      throw new GuestAbort(`abort: ${text}${where}`);
    },
    trace(msg: number, n: number, ...a: number[]) {
      print(`trace: ${readString(msg)} ${a.slice(0, n).join(", ")}`.trimEnd());
    },
    seed: () => Date.now(),
  },
  migrant: {
    print: (ptr: number) => print(readString(ptr)),
    sleep,
    send: sendMessage,
    recv,
    sender: () => newString(inbox.cursor.sender),
    register: (name: number) => (ask("register", readString(name)) === true ? 1 : 0),
    whereis(name: number) {
      const pid = ask("whereis", readString(name));
      return typeof pid === "string" ? newString(pid) : 0;
    },
    now: () => Date.now(),
    pid: () => newString(init.pid),
    node: () => newString(init.node),
    argc: () => init.args.length,
    argv: (i: number) => newString(init.args[i] ?? ""),
    exit(code: number) {
      throw new GuestExit(code);
    },
    __freeze() {
      if (raw.asyncify_get_state?.() === REWINDING) {
        raw.asyncify_stop_rewind();
        return;
      }
      if (nested === 0) {
        held(ctrl, clock);
        throttled(ctrl, clock);
      }
      if (interrupted()) {
        frozenSleep = null;
        startUnwind();
      }
    },
    __fault: awaitPage,
  },
};

/**
 * After the export returned while unwinding: check the buffer, stop the
 * unwind. Returns false if the freeze could not be completed (overflow).
 */
function finishUnwind(): "frozen" | "kept" | "lost" {
  const cur = asyncData[0];
  const capacity = layout.asyncEnd - layout.asyncStart;
  const needed = cur - layout.asyncStart;
  if (cur <= layout.asyncEnd) {
    raw.asyncify_stop_unwind();
    return "frozen";
  }
  // Asyncify wrote past the end of its buffer. What lies there is host-owned:
  // the dirty map, then the present map (unused unless post-copy). If that is
  // all it overwrote, the saved stack is intact: rewind it, mark every page
  // dirty (the dirty bytes are lost), and keep the process running.
  const mapsEnd = init.variant === "postcopy" ? layout.present : layout.base;
  const kept = cur <= mapsEnd;
  send({ t: "overflow", needed, capacity, kept });
  if (!kept) return "lost";
  asyncData[1] = cur;
  raw.asyncify_stop_unwind();
  dirty.fill(1);
  if (init.variant !== "postcopy") present.fill(1);
  // The freeze request is answered (with the error); rewind and run on.
  Atomics.store(ctrl, CTRL_INTERRUPT, 0);
  resumeSleep = frozenSleep;
  raw.asyncify_start_rewind(ASYNC_DATA);
  return "kept";
}

function call(which: FrozenState["phase"]): number {
  const name = which === "start" ? "_start" : "main";
  const fn = raw[name];
  if (typeof fn !== "function") {
    if (name === "_start") return 0;
    throw new GuestAbort("the guest exports no `main` function (export function main(): i32)");
  }
  const t0 = performance.now();
  try {
    return (fn as () => number | undefined)() ?? 0;
  } finally {
    runMs += performance.now() - t0;
  }
}

/**
 * A frozen worker: told to go on where it is (a cancelled freeze: true, the
 * rewind begun, and run() calls the export again, so that the stack does not
 * grow with every cancel), or to stop (the process moved, or switched variant).
 */
function waitForOrders(): boolean {
  let stop = false;
  awaitOrders(ctrl, port, (m) => {
    stop = m.t === "stop";
    return false; // one order ends the wait
  });
  if (stop) {
    port.close();
    return false;
  }
  resumeSleep = frozenSleep;
  raw.asyncify_start_rewind(ASYNC_DATA);
  return true;
}

function run(): void {
  try {
    for (;;) {
      const result = call(phase);
      if (raw.asyncify_get_state?.() === UNWINDING) {
        const outcome = finishUnwind();
        if (outcome === "lost") {
          send({ t: "exit", code: 1, error: "the Asyncify buffer overflowed into guest memory while freezing", runMs });
          port.close();
          return;
        }
        if (outcome === "kept") continue;
        send({
          t: "frozen",
          at: stoppedAt,
          state: {
            phase,
            globals: saveGlobals(raw, layout.globals),
            asyncUsed: asyncData[0] - layout.asyncStart,
            sleepRemaining: frozenSleep,
            mail: { ...inbox.cursor },
          },
        });
        if (waitForOrders()) continue;
        return;
      }
      if (phase === "start") {
        phase = "main";
        continue;
      }
      send({ t: "exit", code: result | 0, error: null, runMs });
      port.close();
      return;
    }
  } catch (e) {
    if (e instanceof GuestExit) send({ t: "exit", code: e.code | 0, error: null, runMs });
    else if (raw.asyncify_get_state?.() === UNWINDING) {
      // the unwind itself ran off the end of memory: an overflow past repair
      const needed = asyncData[0] - layout.asyncStart;
      send({ t: "overflow", needed, capacity: layout.asyncEnd - layout.asyncStart, kept: false });
      send({ t: "exit", code: 1, error: `the Asyncify buffer overflowed into guest memory while freezing (${describeTrap(e)})`, runMs });
    } else send({ t: "exit", code: 1, error: describeTrap(e), runMs });
    port.close();
  }
}

function instantiate(): void {
  const inst = loader.instantiateSync(init.module, imports);
  raw = inst.instance.exports as GuestExports;
  ext = inst.exports;
}

/**
 * Resumes a frozen process whose memory the node has filled. A warm worker has
 * instantiated (below) unless its module has data segments to apply (no
 * emptyData); instantiating now would overwrite restored static data, so the
 * initial region is kept aside and put back.
 */
function resume(state: FrozenState): void {
  if (!raw) {
    const bytes = new Uint8Array(memory.buffer);
    const kept = bytes.slice(layout.base, layout.initialPages * WASM_PAGE);
    instantiate();
    bytes.set(kept, layout.base);
  }
  Atomics.store(ctrl, CTRL_OUTPUT, 0); // the memory may carry the count of the worker before (a switch, a copied page)
  phase = state.phase;
  resumeSleep = state.sleepRemaining;
  inbox.cursor = { ...state.mail };
  loadGlobals(raw, layout.globals, state.globals);
  asyncData[0] = layout.asyncStart + state.asyncUsed;
  asyncData[1] = layout.asyncEnd;
  send({ t: "resumed", at: epochMs() });
  raw.asyncify_start_rewind(ASYNC_DATA);
  run();
}

function fail(e: unknown): void {
  send({ t: "exit", code: 1, error: describeTrap(e), runMs });
  port.close();
}

if (init.restore === null) {
  try {
    instantiate();
    run();
  } catch (e) {
    fail(e);
  }
} else {
  // a warm worker: loaded, module compiled, waiting for the state to resume. It instantiates now if that
  // writes nothing to memory (emptyData), or the memory is fresh (what the data segments wrote is cleared)
  if (init.emptyData || init.restore === "fresh") {
    try {
      instantiate();
      if (init.restore === "fresh") {
        const bytes = new Uint8Array(memory.buffer);
        if (!init.emptyData) bytes.fill(0, layout.base, layout.initialPages * WASM_PAGE);
        prefault(bytes, layout.base);
      }
    } catch (e) {
      fail(e);
    }
  }
  send({ t: "ready" });
  awaitOrders(ctrl, port, (m) => {
    if (m.t === "prime") {
      // run resume's own code once now (the globals set to what they are), so that it is not cold at the handover
      if (raw) loadGlobals(raw, layout.globals, saveGlobals(raw, layout.globals));
      send({ t: "primed" });
      return true;
    }
    if (m.t !== "go") {
      port.close();
      return false;
    }
    try {
      resume(m.state);
    } catch (e) {
      fail(e);
    }
    return false;
  });
}
