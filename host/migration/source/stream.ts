// The page stream from the source to the destination: pages copied out of the
// guest's memory into checksummed batches (batch.ts) and sent on the node link.
// Every wait for the destination is bounded (STEP_MS): its answer to a sync,
// and the link draining while it takes what was queued.
//
// send() is the stream of the rounds and the stop-and-copy: batches of
// BATCH_PAGES, each waiting until the socket has drained, paced to
// --bandwidth, cancel-aware, with progress, yielding between batches so that
// the destination's answers (a refusal) are heard. ship() is post-copy's:
// a batch of zero pages as indices only and one with the others, queued at
// once (post-copy bounds what is on its way itself: a window). sync() waits until the
// destination has installed everything sent so far. With --compress both pack
// their batches (compress.ts): send() against the pages sent before, its
// deflating off the main thread; ship() deflated only, at once. Batches and
// frames are made in buffers of the stream's own pool (net/buffer-pool.ts),
// each used again once it has gone: fresh 4 MiB buffers cost more in page
// faults than copying the pages.

import { BATCH_PAGES, batchMessage, makeBatch, zeroBatch, type Batch } from "../batch.js";
import { pack, packSync, SentPages, type Packed } from "../compress.js";
import type { MessageOf } from "../../net/protocol.js";
import { splitZero } from "../../memory/pages.js";
import { BufferPool } from "../../net/buffer-pool.js";
import { MigrationFailed, STEP_MS, type Emigration } from "./emigration.js";

/** A batch ready to go: its message, the batch (its data goes back to the pool once sent), its bytes before packing, its pages sent as deltas. */
interface Outgoing {
  msg: MessageOf<"migPages">;
  batch: Batch;
  raw: number;
  deltas: number;
}

/** The longest pause between two checks for a cancel while pacing to --bandwidth. */
const PACING_STEP_MS = 50;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Lets the event loop hear what came meanwhile (a refusal, a fault). */
export const yieldToEvents = () => new Promise((r) => setImmediate(r));

export class PageStream {
  private batches = 0;
  private started = 0;
  /** --compress: what was last sent of each page, for deltas (from the first round that keeps them) */
  private sent: SentPages | null = null;
  /** the buffers of batches and frames, used again */
  private readonly pool = new BufferPool();

  constructor(private readonly m: Emigration) {}

  /**
   * Sends pages in checksummed batches, paced to --bandwidth, yielding between
   * batches. With --compress the next batch is packed while this one goes,
   * and `keep` (pre-copy's rounds, which will send some pages again) keeps a
   * copy of each page sent, for deltas later.
   */
  async send(pages: number[], label: string, keep = false): Promise<void> {
    const { ctx, stats } = this.m;
    const bytes = new Uint8Array(this.m.process.memory.buffer);
    if (keep && ctx.options.compress) this.sent ??= new SentPages(this.m.layout.pageSize);
    this.begin();
    const prepare = (i: number) => {
      const msg = this.message(makeBatch(bytes, pages.slice(i, i + BATCH_PAGES), this.m.layout.pageSize, this.pool.take), keep);
      msg.catch(() => undefined); // not awaited when the stream stops early; awaited, it still throws
      return msg;
    };
    let next = pages.length ? prepare(0) : null;
    for (let i = 0; i < pages.length; i += BATCH_PAGES) {
      this.m.checkCancelled();
      const out = await next!;
      next = i + BATCH_PAGES < pages.length ? prepare(i + BATCH_PAGES) : null;
      if (++this.batches === ctx.corruptBatch) out.msg.data[0] ^= 0xff;
      this.sendBatch(out);
      await this.drained();
      await this.pace();
      ctx.progress({
        phase: label,
        round: stats.rounds,
        pagesLeft: pages.length - i - BATCH_PAGES,
        bytesSent: stats.bytesSent,
        mbps: this.rate(),
      });
      await yieldToEvents();
      for (const r of this.m.mailbox.take("migRefuse")) this.m.refusedBy(r.reason);
    }
  }

  /**
   * Queues pages at once: zero pages as indices only, the others with their
   * data (at most BATCH_PAGES a batch). Returns their bytes before packing,
   * which the destination acknowledges (migInstalled): the push window counts
   * pages, not the wire, so a packed window holds no more than a plain one.
   */
  ship(pages: number[]): number {
    const { ctx, stats } = this.m;
    const size = this.m.layout.pageSize;
    const bytes = new Uint8Array(this.m.process.memory.buffer);
    const { zero, data } = splitZero(bytes, pages, size);
    stats.zeroPagesSkipped += zero.length;
    this.begin();
    let queued = 0;
    const go = (b: Batch) => {
      const out = this.packed(b, ctx.options.compress && b.data.length ? packSync(b, size) : null);
      this.sendBatch(out);
      queued += out.raw;
    };
    if (zero.length) go(zeroBatch(zero));
    for (let i = 0; i < data.length; i += BATCH_PAGES) go(makeBatch(bytes, data.slice(i, i + BATCH_PAGES), size, this.pool.take));
    return queued;
  }

  /** A batch's message, packed with --compress (the deflating off this thread). */
  private async message(b: Batch, keep: boolean): Promise<Outgoing> {
    if (!this.m.ctx.options.compress) return this.packed(b, null);
    return this.packed(b, await pack(b, this.m.layout.pageSize, this.sent, keep));
  }

  /** The message of a batch, packed when that made it smaller. */
  private packed(b: Batch, packed: Packed | null): Outgoing {
    const smaller = packed && packed.data.length < b.data.length ? packed : null;
    const msg = batchMessage(this.m.ctx.mid, b, smaller?.data);
    return { msg, batch: b, raw: b.data.length + msg.indices.length, deltas: smaller?.deltas ?? 0 };
  }

  /** Sends a batch (its frame from the pool) and counts it; its data goes back to the pool, copied into the frame. */
  private sendBatch(out: Outgoing): void {
    const { stats } = this.m;
    this.m.link.send(out.msg, this.pool);
    if (out.batch.data.length) this.pool.give(out.batch.data);
    stats.pagesSent += out.msg.data.length ? out.msg.indices.length / 4 : 0; // a zero batch's pages are skipped, not sent
    stats.rawBytes += out.raw;
    stats.bytesSent += out.msg.data.length + out.msg.indices.length;
    stats.deltaPages += out.deltas;
  }

  /**
   * Waits until the destination has installed every batch sent so far (the
   * link keeps order). A round then ends when its pages are there, not when
   * they are queued: the bandwidth the stop rule uses is the real one, and
   * the stop-and-copy and handover never queue behind a backlog, which would
   * put the backlog into the downtime.
   */
  async sync(): Promise<void> {
    this.m.link.send({ t: "migSync", mid: this.m.ctx.mid });
    const r = await this.m.mailbox.next(["migSynced", "migRefuse"], STEP_MS);
    if (r.t === "migRefuse") this.m.refusedBy(r.reason);
    this.m.checkCancelled();
  }

  /**
   * Waits until the link has drained (backpressure), at most STEP_MS: a
   * destination that stops reading fails the migration instead of holding it.
   */
  async drained(limit?: number): Promise<void> {
    const link = this.m.link;
    if (!(await link.drain(limit, STEP_MS))) {
      throw new MigrationFailed(`node ${this.m.ctx.to} took none of the pages queued for it for ${STEP_MS / 1000} s`);
    }
    if (!link.open) throw new MigrationFailed(`the link to node ${this.m.ctx.to} closed while pages were on their way`);
  }

  /** Megabytes per second since the first page left. */
  rate(): number {
    return this.started ? this.m.stats.bytesSent / 1e6 / ((performance.now() - this.started) / 1000 || 1e-3) : 0;
  }

  private begin(): void {
    if (!this.started) this.started = performance.now();
  }

  /** Waits until the bytes sent so far are within --bandwidth, in short steps so that a cancel is heard. */
  private async pace(): Promise<void> {
    const cap = this.m.ctx.options.bandwidthMBps;
    if (!cap) return;
    for (;;) {
      const due = this.m.stats.bytesSent / (cap * 1000) - (performance.now() - this.started);
      if (due <= 0) return;
      await sleep(Math.min(due, PACING_STEP_MS));
      this.m.checkCancelled();
      for (const r of this.m.mailbox.take("migRefuse")) this.m.refusedBy(r.reason); // it gave up waiting (arrival-idle)
    }
  }
}
