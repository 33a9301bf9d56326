// What a migration's source may send, checked where it enters the
// destination, against what the destination knows: the module's layout (its
// memory's bounds, its tracked pages, its Asyncify buffer, its globals) and
// the migration's own state. The decoder has checked every field's type and
// JSON shape already (net/protocol.ts); these checks are of values: a page
// index past the module's memory, a memory larger than its maximum, an absent
// range outside the memory, an Asyncify buffer longer than the module's, a
// frozen state that lacks a global, a mailbox with impossible numbers.
//
// No honest source sends any of these, whatever the timing: each is a
// ProtocolError, and the destination refuses the migration and closes that
// link (cluster/router.ts). What an honest source may send in a bad moment
// (a batch whose checksum fails) is a refusal of the migration alone.

import { ProtocolError, type MessageOf } from "../net/protocol.js";
import { WASM_PAGE, type GlobalSlot, type Layout } from "../memory/layout.js";
import { PID, validName } from "../messaging/addresses.js";
import type { MailState } from "../messaging/process-mail.js";
import { mailProblem } from "../messaging/mail-check.js";
import { globalValueFits, type GlobalValue, type MailCursor } from "../worker/messages.js";
import type { Batch } from "./batch.js";

/** Longest module name, pid, sender id or address a migration may carry. */
const MAX_NAME = 255;
/** Most arguments, and most bytes of them, a process may have. */
export const MAX_ARGS = 1024;
export const MAX_ARG_BYTES = 64 * 1024;
/** The output line count and move count an arriving process may have: room is left for its next lines and moves (u32 on the wire). */
const MAX_SEQ = 2 ** 32 - 2 ** 24;
const MAX_MOVES = 2 ** 31;

const violation = (field: string, what: string): ProtocolError => new ProtocolError("field", `${field}: ${what}`);

/** The arguments of a process (`run`'s and `migBegin`'s): how many, and how long. */
export function argsProblem(args: string[]): string | null {
  if (args.length > MAX_ARGS) return `${args.length} arguments (at most ${MAX_ARGS})`;
  const bytes = args.reduce((a, s) => a + Buffer.byteLength(s), 0);
  return bytes > MAX_ARG_BYTES ? `${bytes} bytes of arguments (at most ${MAX_ARG_BYTES})` : null;
}

/** A module name as a process lists it (`run`'s and `migBegin`'s). */
export const moduleNameProblem = (name: string): string | null =>
  name.length > MAX_NAME ? `a module name of ${name.length} characters (at most ${MAX_NAME})` : null;

/** migBegin, before the module is known: the pid, the name, and the numbers that travel on with the process. */
export function checkBegin(m: MessageOf<"migBegin">): void {
  if (!PID.test(m.pid)) throw violation("migBegin.pid", `"${m.pid.slice(0, 40)}" is not a pid`);
  const { info } = m;
  if (info.name !== null && !validName(info.name)) throw violation("migBegin.info.name", "not a name a process may register");
  const long = moduleNameProblem(m.module) ?? moduleNameProblem(info.module) ?? argsProblem(info.args);
  if (long) throw violation("migBegin", long);
  if (info.migrations > MAX_MOVES) throw violation("migBegin.info.migrations", `${info.migrations} moves`);
}

/** migBegin, once the module is known: the memory it describes fits the module's. */
export function checkBeginMemory(m: MessageOf<"migBegin">, L: Layout): void {
  const pages = m.info.memoryPages;
  if (pages < L.initialPages || pages > L.maxPages) {
    throw violation("migBegin.info.memoryPages", `${pages} Wasm pages, but the module's memory is ${L.initialPages} to ${L.maxPages}`);
  }
}

/** The first tracked page of the guest's memory, and the one past a memory of `wasmPages`. */
const guestStart = (L: Layout) => L.base / L.pageSize;
const pagesIn = (L: Layout, wasmPages: number) => (wasmPages * WASM_PAGE) / L.pageSize;

/** A batch's pages: every one a guest page of the module (below its maximum memory), no more than it has. */
export function checkBatch(b: Batch, L: Layout): void {
  const first = guestStart(L);
  const end = L.trackedPages;
  if (b.indices.length > end - first) throw violation("migPages.indices", `${b.indices.length} pages, the module has ${end - first}`);
  for (let i = 0; i < b.indices.length; i++) {
    const p = b.indices[i];
    if (p < first || p >= end) throw violation("migPages.indices", `page ${p} is outside the module's guest pages [${first}, ${end})`);
  }
}

/** What the destination knows when the handover arrives. */
export interface HandoverContext {
  layout: Layout;
  /** whether the process may be handed over with pages absent (the postcopy variant) */
  postcopy: boolean;
  /** the Wasm pages the destination's memory has now (it never shrinks) */
  memoryPages: number;
}

/** Every value of migHandover, against the module and the migration; returns the absent pages. */
export function checkHandover(m: MessageOf<"migHandover">, c: HandoverContext): Uint32Array {
  const L = c.layout;
  if (m.memoryPages < c.memoryPages || m.memoryPages > L.maxPages) {
    throw violation("migHandover.memoryPages", `${m.memoryPages} Wasm pages; this migration's memory is ${c.memoryPages} to ${L.maxPages}`);
  }
  const first = guestStart(L);
  const end = pagesIn(L, m.memoryPages);
  if (m.absent.length % 4 !== 0) throw violation("migHandover.absent", `${m.absent.length} bytes is not a list of u32 pages`);
  const absent = new Uint32Array(m.absent.slice().buffer);
  if (absent.length > end - first) throw violation("migHandover.absent", `${absent.length} pages, the memory has ${end - first}`);
  const { absentFrom: from, absentTo: to } = m;
  if (from > to || (to > from && (from < first || to > end))) {
    throw violation("migHandover.absentFrom", `absent range [${from}, ${to}) is not within the memory [${first}, ${end})`);
  }
  // each absent page once (the destination counts them down to "every page is here")
  const listed = absent.length ? new Uint8Array(end) : null;
  for (let i = 0; i < absent.length; i++) {
    const p = absent[i];
    if (p < first || p >= end) throw violation("migHandover.absent", `page ${p} is outside the memory [${first}, ${end})`);
    if (listed![p] || (p >= from && p < to)) throw violation("migHandover.absent", `page ${p} is listed absent twice`);
    listed![p] = 1;
  }
  if (!c.postcopy && (absent.length > 0 || to > from)) {
    throw violation("migHandover.absent", "pages absent in a migration without post-copy (its worker cannot fetch them)");
  }
  const capacity = L.asyncEnd - L.asyncStart;
  const used = m.state.frozen.asyncUsed;
  if (m.asyncify.length > capacity || used !== m.asyncify.length) {
    throw violation("migHandover.asyncify", `${m.asyncify.length} bytes (state says ${used}; the module's buffer holds ${capacity})`);
  }
  checkGlobals(m.state.frozen.globals, L.globals);
  if (m.state.seq > MAX_SEQ) throw violation("migHandover.state.seq", `${m.state.seq} output lines`);
  checkMail(m.state.mail, m.state.frozen.mail);
  return absent;
}

/** Every global of the module, with a value of its type. */
function checkGlobals(values: Record<string, GlobalValue>, slots: GlobalSlot[]): void {
  const names = new Set(slots.map((g) => g.export));
  const extra = Object.keys(values).find((k) => !names.has(k));
  if (extra !== undefined)
    throw violation(`migHandover.state.frozen.globals`, `${JSON.stringify(extra.slice(0, 40))} is not a global of the module`);
  for (const g of slots) {
    const v = values[g.export];
    const field = `migHandover.state.frozen.globals.${g.export}`;
    if (v === undefined) throw violation(field, "missing");
    if (!globalValueFits(g.type, v)) throw violation(field, `${JSON.stringify(v).slice(0, 40)} is not an ${g.type}`);
  }
}

function checkMail(mail: MailState, cursor: MailCursor): void {
  const problem = mailProblem(mail, cursor);
  if (problem) throw new ProtocolError("field", `migHandover.state.mail.${problem}`);
}
