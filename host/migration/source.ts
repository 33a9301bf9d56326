// The source side of a live migration (DESIGN.md section 4).
//
// Every strategy ends with the same handover: the process frozen here, the
// destination holding every page it needs (or knowing where to fetch it), the
// destination resuming, and this node letting go.
//
//   freeze    freeze, send every non-zero page, hand over.
//   precopy   freeze briefly to switch the process to the dirty-tracking
//             variant (same memory, new worker), then rounds while it runs:
//             round 1 sends every non-zero page, each next round the pages
//             dirtied during the previous one. A page's dirty byte is cleared
//             *before* it is copied, so a write that races the copy marks it
//             again. Rounds stop when what is left fits --max-downtime at the
//             measured bandwidth, stops shrinking, or --max-rounds is reached;
//             then freeze, send the rest, hand over.
//   postcopy  freeze, hand over at once with every non-zero page absent; the
//             destination faults pages in on demand while a background push
//             sends the rest (fault requests overtake the push: the push yields
//             between batches). Done when the destination has every page.
//   hybrid    pre-copy rounds, then post-copy for what is left.
//
// Every batch carries a CRC-32 (batch.ts); the destination aborts on a
// mismatch. Anything that fails before the handover leaves the process running
// here as if nothing happened.

import { crc32 } from "node:zlib";
import type { Link } from "../net/link.js";
import type { Image } from "../image.js";
import type { GuestProcess } from "../process.js";
import type { FrozenState } from "../worker/messages.js";
import { MigrantError } from "../errors.js";
import { BATCH_PAGES, PUSH_PAGES, PUSH_QUEUE_BYTES, batchMessage, makeBatch, zeroBatch } from "./batch.js";
import { guestPages as pagesOf, splitZero } from "../memory/pages.js";
import type { Mailbox } from "./mailbox.js";
import type { MigrationOptions, MigrationStats, Progress } from "./options.js";

export class MigrationFailed extends MigrantError {
  constructor(
    message: string,
    readonly cancelled = false,
  ) {
    super(message);
  }
}

export interface EmigrationContext {
  mid: number;
  link: Link;
  mailbox: Mailbox;
  pid: string;
  module: string;
  image: Image;
  /** what the destination needs to list the process (args, migrations, ...) */
  info: Record<string, unknown>;
  from: string;
  to: string;
  options: MigrationOptions;
  getProcess(): GuestProcess;
  setProcess(p: GuestProcess): void;
  /** output lines so far (the destination numbers on from there) */
  seq(): number;
  /** the destination runs the process now: move it in the node's table */
  onHandover(): void;
  progress(p: Progress): void;
  cancelled(): boolean;
  /** test hook: corrupt the data of this batch (1-based) after its checksum */
  corruptBatch?: number;
}

const now = () => performance.now();

/** CRC-32 of every guest page not absent: neither in `absent` nor in [range[0], range[1]) (those arrive later). */
export function pageDigests(
  bytes: Uint8Array,
  first: number,
  size: number,
  absent: ArrayLike<number>,
  range: [number, number],
): Record<number, number> {
  const out: Record<number, number> = {};
  const not = new Set(Array.from(absent));
  for (let p = first; p < bytes.length / size; p++) {
    if (!not.has(p) && !(p >= range[0] && p < range[1])) out[p] = crc32(bytes.subarray(p * size, (p + 1) * size));
  }
  return out;
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const STEP_MS = 30_000;

export async function emigrate(ctx: EmigrationContext): Promise<MigrationStats> {
  const t0 = now();
  const L = ctx.image.layout;
  const size = L.pageSize;
  const st: MigrationStats = {
    pid: ctx.pid,
    from: ctx.from,
    to: ctx.to,
    strategy: ctx.options.strategy,
    result: "completed",
    error: null,
    totalMs: 0,
    setupMs: 0,
    downtimeMs: 0,
    switchPauseMs: 0,
    rounds: 0,
    pagesPerRound: [],
    pagesSent: 0,
    zeroPagesSkipped: 0,
    bytesSent: 0,
    mbps: 0,
    dirtyRate: 0,
    faults: 0,
    faultP50Us: 0,
    faultP99Us: 0,
    faultTimesMs: [],
  };
  let batches = 0;
  let streamStart = 0;
  let handedOver = false;
  const { link, mailbox } = ctx;

  const check = () => {
    if (!handedOver && ctx.cancelled()) throw new MigrationFailed("cancelled", true);
  };

  /** Sends pages in checksummed batches, paced to --bandwidth, yielding between batches. */
  const send = async (pages: number[], label: string) => {
    const bytes = new Uint8Array(ctx.getProcess().memory.buffer);
    if (!streamStart) streamStart = now();
    for (let i = 0; i < pages.length; i += BATCH_PAGES) {
      check();
      const msg = batchMessage(ctx.mid, makeBatch(bytes, pages.slice(i, i + BATCH_PAGES), size));
      if (++batches === ctx.corruptBatch) msg.data[0] ^= 0xff;
      link.send(msg);
      st.pagesSent += msg.indices.length / 4;
      st.bytesSent += msg.data.length + msg.indices.length;
      await link.drain();
      if (ctx.options.bandwidthMBps) {
        // pace to the cap, in short steps so that a cancel is heard
        for (;;) {
          const due = st.bytesSent / (ctx.options.bandwidthMBps * 1000) - (now() - streamStart);
          if (due <= 0) break;
          await sleep(Math.min(due, 50));
          check();
        }
      }
      ctx.progress({ phase: label, round: st.rounds, pagesLeft: pages.length - i - BATCH_PAGES, bytesSent: st.bytesSent, mbps: rate() });
      await new Promise((r) => setImmediate(r));
      for (const m of mailbox.take("migRefuse")) throw new MigrationFailed(`node ${ctx.to} aborted the migration: ${m.reason}`);
    }
  };
  const rate = () => (streamStart ? st.bytesSent / 1e6 / ((now() - streamStart) / 1000 || 1e-3) : 0);

  /**
   * Waits until the destination has installed every batch sent so far (the
   * link keeps order). A round then ends when its pages are there, not when
   * they are queued: the bandwidth the stop rule uses is the real one, and
   * the stop-and-copy and handover never queue behind a backlog, which would
   * put the backlog into the downtime.
   */
  const synced = async () => {
    link.send({ t: "migSync", mid: ctx.mid });
    const r = await mailbox.next(["migSynced", "migRefuse"], STEP_MS);
    if (r.t === "migRefuse") throw new MigrationFailed(`node ${ctx.to} aborted the migration: ${r.reason}`);
    check();
  };

  const frozen = async (): Promise<FrozenState> => {
    const s = await ctx.getProcess().freeze();
    if (!s) throw new MigrationFailed("the process ended before it could move");
    return s;
  };

  const guestPages = () => ctx.getProcess().memory.buffer.byteLength / size;
  /** Every guest page, now. */
  const allGuestPages = () => pagesOf(ctx.getProcess().memory, L);
  const nonZeroPages = (): number[] => {
    const { zero, data } = splitZero(new Uint8Array(ctx.getProcess().memory.buffer), allGuestPages(), size);
    st.zeroPagesSkipped += zero.length;
    return data;
  };
  /** Collects the dirty pages and clears their bytes (before they are copied). */
  const takeDirty = (): number[] => {
    const dirty = ctx.getProcess().dirtyMap();
    const out: number[] = [];
    const end = guestPages();
    for (let p = L.base / size; p < end; p++) {
      if (dirty[p]) {
        dirty[p] = 0;
        out.push(p);
      }
    }
    return out;
  };
  const countDirty = () => {
    const dirty = ctx.getProcess().dirtyMap();
    let n = 0;
    for (let p = L.base / size, end = guestPages(); p < end; p++) n += dirty[p];
    return n;
  };

  let tFrozen = 0;
  /** Hands over with `absent` pages and those of `range` left to post-copy. */
  const handover = async (state: FrozenState, absent: number[], range: [number, number] = [0, 0]) => {
    const proc = ctx.getProcess();
    const asyncify = new Uint8Array(proc.memory.buffer, L.asyncStart, state.asyncUsed).slice();
    // optional end-to-end check of every guest page (MIGRANT_VERIFY=1 on the source node)
    const verify =
      process.env.MIGRANT_VERIFY === "1" ? pageDigests(new Uint8Array(proc.memory.buffer), L.base / size, size, absent, range) : null;
    link.send({
      t: "migHandover",
      mid: ctx.mid,
      state: { frozen: state, seq: ctx.seq(), verify },
      asyncify,
      memoryPages: proc.memory.buffer.byteLength / 65536,
      absent: new Uint8Array(Uint32Array.from(absent).buffer),
      absentFrom: range[0],
      absentTo: range[1],
    });
    const r = await mailbox.next(["migResumed", "migRefuse"], STEP_MS);
    if (r.t === "migRefuse") throw new MigrationFailed(`node ${ctx.to} could not resume the process: ${r.reason}`);
    st.downtimeMs = now() - tFrozen;
    handedOver = true;
    await proc.release();
    ctx.onHandover();
  };

  /** Sends pages as batches: zero pages as indices only, the others with their data. */
  const ship = (bytes: Uint8Array, pages: number[]) => {
    const { zero, data } = splitZero(bytes, pages, size);
    st.zeroPagesSkipped += zero.length;
    for (const b of [zero.length ? zeroBatch(zero) : null, data.length ? makeBatch(bytes, data, size) : null]) {
      if (!b) continue;
      const msg = batchMessage(ctx.mid, b);
      link.send(msg);
      st.pagesSent += b.data.length ? b.indices.length : 0;
      st.bytesSent += msg.data.length + msg.indices.length;
    }
  };

  /** Post-copy: serve faults first, push the rest (unless --no-push), until the destination has all. */
  const serve = async (pages: number[]) => {
    const pending = new Set(pages);
    const order = [...pages];
    let next = 0;
    const bytes = new Uint8Array(ctx.getProcess().memory.buffer);
    if (!streamStart) streamStart = now();
    for (;;) {
      const faulted = mailbox
        .take("migFault")
        .map((m) => m.page)
        .filter((p) => pending.has(p));
      for (const p of faulted) pending.delete(p);
      if (faulted.length) ship(bytes, faulted);
      if (pending.size === 0) break;
      if (ctx.options.push) {
        const chunk: number[] = [];
        while (chunk.length < PUSH_PAGES && next < order.length) {
          const p = order[next++];
          if (pending.delete(p)) chunk.push(p);
        }
        if (chunk.length) {
          ship(bytes, chunk);
          await link.drain(PUSH_QUEUE_BYTES);
          ctx.progress({ phase: "post-copy push", round: st.rounds, pagesLeft: pending.size, bytesSent: st.bytesSent, mbps: rate() });
        }
        await new Promise((r) => setImmediate(r)); // let fault requests overtake
      } else {
        const m = await mailbox.next(["migFault", "migDone"], 24 * 3600 * 1000);
        if (m.t === "migDone") return m;
        mailbox.deliver(m);
      }
    }
    return mailbox.next(["migDone"], STEP_MS);
  };

  try {
    // setup: the destination checks its limits, fetches the module if it lacks it, prepares a worker
    link.send({
      t: "migBegin",
      mid: ctx.mid,
      pid: ctx.pid,
      module: ctx.module,
      hash: ctx.image.hash,
      info: { ...ctx.info, strategy: st.strategy },
    });
    let r = await mailbox.next(["migAccept", "migRefuse", "needModule"], STEP_MS);
    if (r.t === "needModule") {
      link.send({ t: "module", req: ctx.mid, hash: ctx.image.hash, bytes: ctx.image.bytes });
      r = await mailbox.next(["migAccept", "migRefuse"], STEP_MS);
    }
    if (r.t === "migRefuse") throw new MigrationFailed(`node ${ctx.to} refused: ${r.reason}`);
    st.setupMs = now() - t0;
    check();

    const strategy = ctx.options.strategy;
    let absent: number[] = [];
    if (strategy === "freeze") {
      const s = await frozen();
      tFrozen = now();
      const pages = nonZeroPages();
      st.rounds = 1;
      st.pagesPerRound.push(pages.length);
      await send(pages, "stop-and-copy");
      await handover(s, []);
    } else if (strategy === "postcopy") {
      const s = await frozen();
      tFrozen = now();
      // handed over with every guest page absent, as a range: no list and no
      // scan in the downtime (zero pages go later, as indices only)
      await handover(s, [], [L.base / size, guestPages()]);
      absent = allGuestPages();
    } else {
      // pre-copy rounds in the dirty-tracking variant. The dirty map is cleared
      // only while the process is frozen: from the switch on, every write marks
      // its page, and round 1's scan and copies come after that.
      const tSwitch = now();
      const tracking = await ctx.getProcess().toVariant("track", () => ctx.getProcess().dirtyMap().fill(0));
      if (!tracking) throw new MigrationFailed("the process ended before it could move");
      ctx.setProcess(tracking);
      st.switchPauseMs = now() - tSwitch;
      let pages = nonZeroPages();
      for (;;) {
        st.rounds++;
        const start = now();
        const before = st.bytesSent;
        await send(pages, `pre-copy round ${st.rounds}`);
        await synced();
        st.pagesPerRound.push(pages.length);
        const secs = Math.max(1e-3, (now() - start) / 1000);
        const bw = (st.bytesSent - before) / secs; // bytes per second
        const left = countDirty();
        st.dirtyRate = Math.round(left / secs);
        const fits = (left * size) / Math.max(bw, 1) <= ctx.options.maxDowntimeMs / 1000;
        if (fits || left >= pages.length || st.rounds >= ctx.options.maxRounds) break;
        pages = takeDirty();
      }
      const s = await frozen();
      tFrozen = now();
      const rest = takeDirty();
      if (strategy === "precopy") {
        st.rounds++;
        st.pagesPerRound.push(rest.length);
        await send(rest, "stop-and-copy");
        await handover(s, []);
      } else {
        absent = rest;
        await handover(s, absent);
      }
    }
    if (absent.length) {
      const done = await serve(absent);
      const d = done.stats as Pick<MigrationStats, "faults" | "faultP50Us" | "faultP99Us" | "faultTimesMs">;
      Object.assign(st, {
        faults: d.faults,
        faultP50Us: d.faultP50Us,
        faultP99Us: d.faultP99Us,
        faultTimesMs: Array.isArray(d.faultTimesMs) ? d.faultTimesMs : [],
      });
    }
  } catch (e) {
    st.result = e instanceof MigrationFailed && e.cancelled ? "cancelled" : "failed";
    st.error = (e as Error).message;
    if (!handedOver) {
      link.send({ t: "migAbort", mid: ctx.mid, reason: st.error });
      let p: GuestProcess | null = null;
      try {
        p = ctx.getProcess();
      } catch {
        /* it ended meanwhile: nothing to resume */
      }
      if (p?.frozenState) {
        // back to the variant without a write barrier (pre-copy had switched to it)
        if (p.variant === "plain") p.resume();
        else ctx.setProcess(await p.switchVariant("plain"));
      } else if (p?.running && p.variant !== "plain") {
        const q = await p.toVariant("plain").catch(() => p);
        if (q) ctx.setProcess(q);
      }
    } else {
      st.error = `after the handover: ${st.error}`;
    }
  }
  st.totalMs = now() - t0;
  st.mbps = rate();
  return st;
}
