// A snapshot checked against the module it was taken of, before anything of
// it touches a memory or a worker. The codec has checked the file (checksum,
// lengths, the header's types and bounds, and that the module inside is the
// one the header names); here every value that depends on the module must fit
// it (host/memory/layout.ts):
//
//   memory      the module's declared minimum to maximum Wasm pages
//   pages       the module's tracked page size; indices ascending, each in the
//               guest's part of that memory ([base, memoryPages x 64 KiB))
//   Asyncify    asyncUsed bytes, all there, within the module's buffer
//   globals     exactly the module's exported mutable globals, each a value
//               of its type (i32 in range, i64 a decimal in range, f32 exact)
//   mailbox     coherent with the guest's cursor: queued messages numbered
//               past what it received and below the next number, the send
//               under way the one after the last completed, sizes in bounds
//
// Whatever does not fit is a SnapshotFormatError naming the field and what it
// should be. openSnapshot is what `migrant resume` calls: file to a checked
// snapshot and its loaded module.

import { MigrantError, SnapshotFormatError } from "../errors.js";
import { Image } from "../image.js";
import { PRIMARY } from "../instrument/variants.js";
import { WASM_PAGE, type Layout } from "../memory/layout.js";
import type { MailState } from "../messaging/process-mail.js";
import { mailProblem } from "../messaging/mail-check.js";
import { globalValueFits, type FrozenState } from "../worker/messages.js";
import { decodeSnapshot } from "./codec.js";
import type { Snapshot } from "./snapshot.js";
import { array, count, number, object, oneOf, string, ShapeError } from "../net/shape.js";

/** Why a snapshot does not fit its module, or null. */
type Finding = string | null;

const LAYOUT = object({
  pageSize: number({ int: true, min: 1024 }),
  maxPages: number({ int: true, min: 1 }),
  initialPages: count,
  asyncStart: count,
  asyncEnd: count,
  base: count,
  globals: array(object({ export: string, type: oneOf(["i32", "i64", "f32", "f64"] as const) })),
});

/** The module's own layout is what the checks below measure against: it must make sense itself. */
function layout(L: Layout): Finding {
  try {
    LAYOUT.check(L, "layout");
  } catch (e) {
    if (e instanceof ShapeError) return `the module's layout is unreadable (${e.message}); rebuild it with \`migrant build\``;
    throw e;
  }
  const ok =
    (L.pageSize & (L.pageSize - 1)) === 0 &&
    L.pageSize <= WASM_PAGE &&
    L.initialPages <= L.maxPages &&
    L.maxPages <= 65536 &&
    L.asyncStart < L.asyncEnd &&
    L.asyncEnd <= L.base &&
    L.base % WASM_PAGE === 0 &&
    L.base <= L.initialPages * WASM_PAGE;
  return ok ? null : "the module's layout does not hold together; rebuild it with `migrant build`";
}

function memory(s: Snapshot, L: Layout): Finding {
  if (s.memoryPages < L.initialPages || s.memoryPages > L.maxPages) {
    return `its memory is ${s.memoryPages} Wasm pages; the module's is ${L.initialPages} to ${L.maxPages}`;
  }
  return null;
}

function pages(s: Snapshot, L: Layout): Finding {
  const { indices, data } = s.pages;
  if (data.length !== indices.length * L.pageSize) {
    return `its ${indices.length} pages hold ${data.length} bytes; the module's pages are ${L.pageSize} bytes each`;
  }
  const first = L.base / L.pageSize;
  const end = (s.memoryPages * WASM_PAGE) / L.pageSize;
  for (let i = 0; i < indices.length; i++) {
    const p = indices[i];
    if (p < first || p >= end) return `page ${p} is outside the guest's memory (pages ${first} to ${end - 1})`;
    if (i > 0 && p <= indices[i - 1]) return `the page table is not in ascending order (page ${p} after ${indices[i - 1]})`;
  }
  return null;
}

function asyncify(s: Snapshot, L: Layout): Finding {
  const used = s.state.asyncUsed;
  const capacity = L.asyncEnd - L.asyncStart;
  if (used > capacity) return `its stack is ${used} bytes; the module's Asyncify buffer holds ${capacity}`;
  if (s.asyncify.length !== used) return `its state uses ${used} bytes of Asyncify buffer but the file holds ${s.asyncify.length}`;
  return null;
}

function globals(state: FrozenState, L: Layout, image: Image): Finding {
  const exported = new Set(
    WebAssembly.Module.exports(image.module(PRIMARY))
      .filter((e) => e.kind === "global")
      .map((e) => e.name),
  );
  const names = new Set(L.globals.map((g) => g.export));
  for (const name of Object.keys(state.globals)) {
    if (!names.has(name)) return `global ${JSON.stringify(name.slice(0, 40))} is not one of the module's (${L.globals.length} of them)`;
  }
  for (const g of L.globals) {
    if (!exported.has(g.export)) return `the module does not export its global ${g.export} (rebuild it with \`migrant build\`)`;
    const v = state.globals[g.export];
    if (v === undefined) return `global ${g.export} is missing`;
    if (!globalValueFits(g.type, v)) return `global ${g.export} is ${JSON.stringify(v)}, not a value of type ${g.type}`;
  }
  return null;
}

function mailbox(m: MailState, cursor: FrozenState["mail"]): Finding {
  const problem = mailProblem(m, cursor);
  return problem && `mailbox ${problem}`;
}

/** Throws a SnapshotFormatError unless every value of `s` fits `image`, the module it was taken of. */
export function checkSnapshot(s: Snapshot, image: Image, what = "snapshot"): void {
  const L = image.layout;
  const finding = layout(L) ?? memory(s, L) ?? pages(s, L) ?? asyncify(s, L) ?? globals(s.state, L, image) ?? mailbox(s.mail, s.state.mail);
  if (finding) throw new SnapshotFormatError(`${what} does not fit its module: ${finding}; it cannot be resumed`);
}

/** A snapshot file's bytes, decoded and checked, with its module loaded. */
export function openSnapshot(bytes: Buffer, what: string): { snap: Snapshot; image: Image } {
  const snap = decodeSnapshot(bytes, what);
  let image: Image;
  try {
    image = Image.fromBytes(snap.image, `the module inside ${what}`);
  } catch (e) {
    if (e instanceof MigrantError) throw new SnapshotFormatError(e.message);
    throw e;
  }
  checkSnapshot(snap, image, what);
  return { snap, image };
}
