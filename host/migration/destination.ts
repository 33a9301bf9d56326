// The destination side of a live migration.
//
// On `migBegin` the node checks its limits and the module, makes a fresh
// shared memory and a warm worker (GuestProcess.prepare) in the variant the
// strategy needs: plain, or postcopy when pages may still be missing at the
// handover. Page batches are checked (CRC-32, and every index against the
// module: arrival-checks.ts) and written straight into that memory; a bad
// batch aborts the migration (the source carries on). At the handover, once
// every value of it is checked, it lays the Asyncify buffer, marks the absent
// pages in the present map and says `go`; the guest runs at once. In
// post-copy, a page the guest touches before it arrived is asked for
// (`migFault`) while the guest's worker waits on its presence barrier; pages
// that arrive are installed unless the guest already has them. If the source
// dies while pages are still missing, or a page asked for does not come
// within FAULT_WAIT_MS, the process is stopped with an error saying so —
// never left to read zeros.
//
// Phases: receiving (before the handover: a source silent for
// ARRIVAL_IDLE_MS is given up), handing over (the handover is being laid
// down), running (the guest runs here: the process is this node's), ended.
// Once the handover is here with every page, the process runs here even if
// the source goes away: the source never resumes a process it handed over
// unless this side refused it. A `migAbort` after the handover is the source
// asking whether it runs here (it did not hear migResumed): it is answered
// `migResumed` if the guest was told to go, else `migRefuse`, and then it
// never runs here.

import type { MessageLink } from "../net/link.js";
import type { Image } from "../image.js";
import { GuestProcess } from "../process.js";
import { memoryPages, newMemory } from "../memory/pages.js";
import { ProtocolError, type MessageOf } from "../net/protocol.js";
import type { Variant } from "../instrument/variants.js";
import { percentile } from "../stats.js";
import { openBatch } from "./batch.js";
import { unpack } from "./compress.js";
import { verifyDigests, verifyMismatch } from "./verify.js";
import { WASM_PAGE } from "../memory/layout.js";
import { ProcessMail } from "../messaging/process-mail.js";
import type { MailRequest } from "../process.js";
import { checkBatch, checkHandover } from "./arrival-checks.js";
import { ARRIVAL_IDLE_MS, FAULT_WAIT_MS } from "./timeouts.js";

export interface ImmigrationContext {
  mid: number;
  link: MessageLink;
  image: Image;
  pid: string;
  node: string;
  args: string[];
  variant: Variant;
  memoryPages: number;
  onOutput(line: string): unknown;
  /** what the guest asks of messaging (its node's post office) */
  onMail(m: MailRequest, gp: GuestProcess): void;
  /** messages a mailbox holds here */
  mailCapacity?: number;
  /** the process runs here now, its output numbered on from `seq`, with the mailbox it brought */
  onArrived(proc: GuestProcess, seq: number, mail: ProcessMail): void;
  /** the migration failed before the handover; nothing remains here */
  onDiscarded(reason: string): void;
  /**
   * Post-copy: every page is here. The node moves the process back to the
   * plain variant; resolves with the pause its guest saw (ms), or null if it
   * did not switch. migDone, which reports it, waits for this.
   */
  switchBack(): Promise<number | null>;
}

/** How many fault times a migration's statistics keep (for the benchmark's faults-over-time chart). */
export const FAULT_TIMES = 20_000;

/** Writes page p of memory from the i-th page of a batch's data (empty: a zero page). */
function writePage(bytes: Uint8Array, p: number, data: Uint8Array, i: number, size: number): void {
  if (data.length) bytes.set(data.subarray(i * size, (i + 1) * size), p * size);
  else bytes.fill(0, p * size, (p + 1) * size);
}

type Phase = "receiving" | "handing-over" | "running" | "ended";

export class Immigration {
  readonly proc: GuestProcess;
  private readonly memory: WebAssembly.Memory;
  private phase: Phase = "receiving";
  /** post-copy: pages still absent (the present map says which), or null before a post-copy handover */
  private missing: number | null = null;
  private asked = new Map<number, number>();
  /** post-copy: pages the guest asked for that have not come yet, and when */
  private waiting = new Map<number, number>();
  private latencies: number[] = [];
  /** when each fault was asked for, in ms since the guest resumed here (the first FAULT_TIMES) */
  private faultTimes: number[] = [];
  private resumedAt = 0;
  /** the guest was told `go` here */
  private went = false;
  /** when the guest ran here (epoch ms, as migResumed says), or null */
  ranAt: number | null = null;
  /** the source asked to give up while the handover was being laid down */
  private abortAsked = false;
  /** resolves when every page is here (post-copy), or the immigration ended otherwise */
  readonly settled: Promise<void>;
  private settle!: () => void;
  private finished = false;
  /** every page is here and the switch back to plain is under way */
  private completing = false;
  private readonly idle: NodeJS.Timeout;
  private faultWatch: NodeJS.Timeout | null = null;

  constructor(private readonly ctx: ImmigrationContext) {
    this.settled = new Promise((r) => (this.settle = r));
    this.memory = newMemory(ctx.image.layout, ctx.memoryPages);
    this.proc = GuestProcess.prepare(
      ctx.image,
      this.memory,
      {
        pid: ctx.pid,
        node: ctx.node,
        args: ctx.args,
        variant: ctx.variant,
        onOutput: ctx.onOutput,
        onMail: ctx.onMail,
        onFault: (page) => this.fault(page),
      },
      true,
    ); // fresh: no page arrives before it is ready
    // post-copy: every page present but those the handover will name absent (marked then, a short range and list)
    if (ctx.variant === "postcopy") this.presentMap().fill(1);
    const silent = `no message from node ${ctx.link.peer} for ${ARRIVAL_IDLE_MS / 1000} s before the handover`;
    this.idle = setTimeout(() => this.refuse(silent), ARRIVAL_IDLE_MS);
  }

  /** The most memory the arriving guest may grow to, bytes (what the node promises it). */
  get maxBytes(): number {
    return this.ctx.image.layout.maxPages * WASM_PAGE;
  }

  get postCopying(): boolean {
    return this.missing !== null && this.missing > 0;
  }

  /** The source sent something for this migration: it is not silent. */
  heard(): void {
    if (this.phase === "receiving") this.idle.refresh();
  }

  private presentMap(): Uint8Array {
    const L = this.ctx.image.layout;
    return new Uint8Array(this.memory.buffer, L.present, L.trackedPages);
  }

  private grow(pages: number): void {
    const have = memoryPages(this.memory);
    if (pages > have) this.memory.grow(pages - have);
  }

  private fault(page: number): void {
    const t = performance.now();
    // the page came between the guest's look at the present map and this report: the guest is woken at once (its
    // wait, from its report until now, is not measured here, so it is left out of the latencies, not counted as zero)
    const arrived = Atomics.load(this.presentMap(), page) === 1;
    if (!this.asked.has(page)) {
      this.asked.set(page, t);
      if (this.faultTimes.length < FAULT_TIMES) this.faultTimes.push(Math.round((t - this.resumedAt) * 100) / 100);
    }
    if (arrived) return this.proc.wake();
    if (!this.waiting.has(page)) this.waiting.set(page, t);
    this.ctx.link.send({ t: "migFault", mid: this.ctx.mid, page });
  }

  pages(m: MessageOf<"migPages">): void {
    if (this.phase === "ended") return; // late: the migration is over here
    const L = this.ctx.image.layout;
    const batch = openBatch(m, L.pageSize);
    if (!batch) return this.fail("a page batch failed its checksum");
    checkBatch(batch, L);
    if (this.phase !== "receiving" && this.missing === null) {
      throw new ProtocolError("field", "migPages: pages after the handover of a migration without post-copy");
    }
    let top = 0;
    for (const p of batch.indices) top = Math.max(top, p + 1);
    this.grow(Math.ceil((top * L.pageSize) / WASM_PAGE));
    const bytes = new Uint8Array(this.memory.buffer);
    const data = batch.packed ? unpack(batch.data, batch.indices, L.pageSize, bytes) : batch.data;
    if (this.missing === null) return batch.indices.forEach((p, i) => writePage(bytes, p, data, i, L.pageSize));
    this.install(batch.indices, data, bytes);
    // the push window: the source keeps at most a few batches on their way, so that a fault's answer waits behind little
    // counted before packing, as the source counts its window (a packed batch holds more pages than its bytes say)
    this.ctx.link.send({ t: "migInstalled", mid: this.ctx.mid, bytes: m.indices.length + data.length });
    if (this.missing === 0) this.complete();
  }

  /**
   * Post-copy: installs the pages the guest does not have yet (it may have
   * written one it faulted in since), each marked present after its data is
   * written, then wakes the guest once.
   */
  private install(indices: Uint32Array, data: Uint8Array, bytes: Uint8Array): void {
    const size = this.ctx.image.layout.pageSize;
    const present = this.presentMap();
    const now = performance.now();
    indices.forEach((p, i) => {
      if (present[p]) return;
      writePage(bytes, p, data, i, size);
      Atomics.store(present, p, 1);
      this.missing!--;
      this.waiting.delete(p);
      const t = this.asked.get(p);
      if (t !== undefined) this.latencies.push((now - t) * 1000);
    });
    this.proc.wake();
  }

  async handover(m: MessageOf<"migHandover">): Promise<void> {
    if (this.phase !== "receiving") {
      if (this.phase === "ended") return; // given up here already (the source heard migRefuse, or will)
      throw new ProtocolError("field", "migHandover: a second handover of one migration");
    }
    const L = this.ctx.image.layout;
    const postcopy = this.ctx.variant === "postcopy";
    const absent = checkHandover(m, { layout: L, postcopy, memoryPages: memoryPages(this.memory) });
    const { frozen, seq, verify } = m.state;
    const mail = new ProcessMail(this.ctx.mailCapacity, m.state.mail);
    this.phase = "handing-over";
    clearTimeout(this.idle);
    this.grow(m.memoryPages);
    const range = m.absentTo - m.absentFrom;
    if (verify) {
      const bad = verifyMismatch(verify, verifyDigests(new Uint8Array(this.memory.buffer), L, absent, [m.absentFrom, m.absentTo]));
      if (bad) return this.refuse(`end-to-end check: ${bad}`);
    }
    new Uint8Array(this.memory.buffer).set(m.asyncify, L.asyncStart);
    if (postcopy) {
      const present = this.presentMap();
      if (range > 0) present.fill(0, m.absentFrom, m.absentTo);
      for (const p of absent) present[p] = 0;
      this.missing = absent.length + Math.max(0, range);
    }
    await this.proc.ready;
    if (this.abortAsked || this.phase !== "handing-over") return this.refuse("the source gave up before the process ran here");
    this.resumedAt = performance.now();
    this.proc.go(frozen);
    this.went = true;
    let at: number;
    try {
      at = await this.proc.resumed;
    } catch (e) {
      this.went = false; // its worker ended before the guest ran (a state it could not load): a refusal
      throw e;
    }
    this.ranAt = at;
    this.ctx.link.send({ t: "migResumed", mid: this.ctx.mid, at });
    if (this.phase !== "handing-over") return; // stopped meanwhile (its source gone with pages missing)
    this.phase = "running";
    this.ctx.onArrived(this.proc, seq, mail);
    if (this.missing === 0) this.complete();
    if (this.missing === null) this.end();
    else this.watchFaults();
  }

  /** Whether the guest was told to run here (after that, a failure is not a refusal: the process is this node's). */
  get ran(): boolean {
    return this.went;
  }

  /** Post-copy: a page asked for that does not come within FAULT_WAIT_MS stops the process. */
  private watchFaults(): void {
    const period = Math.min(1000, FAULT_WAIT_MS / 4);
    let last = performance.now();
    this.faultWatch = setInterval(() => {
      const now = performance.now();
      const gap = now - last;
      last = now;
      // this node itself did not run (stopped, loop blocked): the pages may be waiting in its socket; the waits start again
      if (gap > FAULT_WAIT_MS / 2) for (const page of this.waiting.keys()) this.waiting.set(page, now);
      for (const [page, t] of this.waiting) {
        if (now - t < FAULT_WAIT_MS) continue;
        const why = `post-copy: page ${page} asked of node ${this.ctx.link.peer} did not come within ${FAULT_WAIT_MS / 1000} s; the process cannot continue`;
        this.ctx.link.send({ t: "migRefuse", mid: this.ctx.mid, reason: why });
        return this.stop(why);
      }
    }, period);
  }

  /** Every page is here: the process goes back to plain, then migDone tells the source (and ends its service). */
  private complete(): void {
    if (this.finished || this.completing) return;
    this.completing = true;
    if (this.faultWatch) clearInterval(this.faultWatch);
    const done = (switchBackPauseMs: number | null) => {
      this.end();
      this.ctx.link.send({
        t: "migDone",
        mid: this.ctx.mid,
        stats: {
          faults: this.asked.size,
          faultP50Us: Math.round(percentile(this.latencies, 50) || 0),
          faultP99Us: Math.round(percentile(this.latencies, 99) || 0),
          faultTimesMs: this.faultTimes,
          faultLatenciesUs: this.latencies.slice(0, FAULT_TIMES).map(Math.round),
          switchBackPauseMs,
        },
      });
    };
    this.ctx.switchBack().then(done, () => done(null));
  }

  /** Nothing more comes for this migration. */
  private end(): void {
    this.finished = true;
    if (this.phase !== "running") this.phase = "ended";
    clearTimeout(this.idle);
    if (this.faultWatch) clearInterval(this.faultWatch);
    this.settle();
  }

  /** Stops a process that cannot continue here (pages it needs will not come). */
  private stop(reason: string): void {
    this.phase = "ended";
    this.end();
    void this.proc.kill(reason);
  }

  /** A batch could not be used: before the guest runs here a refusal; after, the pages it lacks will not come. */
  fail(reason: string): void {
    if (this.went) this.stop(`post-copy: ${reason}; the process cannot continue`);
    else this.refuse(reason);
  }

  /** Fails the migration from here (before the guest runs here: the source keeps the process). */
  refuse(reason: string): void {
    if (this.went || this.finished) return;
    this.ctx.link.send({ t: "migRefuse", mid: this.ctx.mid, reason });
    this.discard(reason);
  }

  /** The source gave up (migAbort): before the handover it is dropped; after it, the source asks whether the guest runs here. */
  abort(reason: string): void {
    if (this.went) {
      if (this.ranAt !== null) this.ctx.link.send({ t: "migResumed", mid: this.ctx.mid, at: this.ranAt });
      return; // else migResumed follows as soon as the guest runs
    }
    if (this.phase === "handing-over") {
      this.abortAsked = true; // refused once the worker is ready, before the guest runs
      return;
    }
    this.discard(`the source aborted: ${reason}`); // before the handover: the source does not wait for an answer
  }

  /** Drops the migration here: nothing of it remains. */
  discard(reason: string): void {
    if (this.finished || this.went) return;
    this.phase = "ended";
    this.end();
    void this.proc.kill(reason);
    this.ctx.onDiscarded(reason);
  }

  /** The source's link closed. */
  sourceLost(): void {
    if (this.finished) return;
    if (this.postCopying) {
      this.stop(`the source node died during post-copy with ${this.missing} pages still missing; the process cannot continue`);
    } else if (this.phase === "receiving") {
      this.discard("the source node went away before the handover");
    }
    // handing over with every page here: it runs here (the source does not resume a process it handed over)
  }
}
