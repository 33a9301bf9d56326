// The destination side of a live migration.
//
// On `migBegin` the node checks its limits and the module, makes a fresh
// shared memory and a warm worker (GuestProcess.prepare) in the variant the
// strategy needs: plain, or postcopy when pages may still be missing at the
// handover. Page batches are checked (CRC-32) and written straight into that
// memory; a bad batch aborts the migration (the source carries on). At the
// handover it lays the Asyncify buffer, marks the absent pages in the present
// map and says `go`; the guest runs at once. In post-copy, a page the guest
// touches before it arrived is asked for (`migFault`) while the guest's worker
// waits on its presence barrier; pages that arrive are installed unless the
// guest already has them. If the source dies while pages are still missing,
// the process is stopped with an error saying so — never left to read zeros.

import type { MessageLink } from "../net/link.js";
import type { Image } from "../image.js";
import { GuestProcess } from "../process.js";
import { memoryPages, newMemory } from "../memory/pages.js";
import type { MessageOf } from "../net/protocol.js";
import type { Variant } from "../instrument/variants.js";
import { percentile } from "../stats.js";
import { openBatch } from "./batch.js";
import { verifyDigests, verifyMismatch } from "./verify.js";
import { WASM_PAGE } from "../memory/layout.js";
import { ProcessMail } from "../messaging/process-mail.js";
import type { MailRequest } from "../process.js";

export interface ImmigrationContext {
  mid: number;
  link: MessageLink;
  image: Image;
  pid: string;
  node: string;
  args: string[];
  variant: Variant;
  memoryPages: number;
  onOutput(line: string): void;
  /** what the guest asks of messaging (its node's post office) */
  onMail(m: MailRequest, gp: GuestProcess): void;
  /** messages a mailbox holds here */
  mailCapacity?: number;
  /** the process runs here now, its output numbered on from `seq`, with the mailbox it brought */
  onArrived(proc: GuestProcess, seq: number, mail: ProcessMail): void;
  /** the migration failed before the handover; nothing remains here */
  onDiscarded(reason: string): void;
}

/** How many fault times a migration's statistics keep (for the benchmark's faults-over-time chart). */
const FAULT_TIMES = 20_000;

export class Immigration {
  readonly proc: GuestProcess;
  private readonly memory: WebAssembly.Memory;
  /** post-copy: pages still absent (the present map says which), or null before a post-copy handover */
  private missing: number | null = null;
  private asked = new Map<number, number>();
  private latencies: number[] = [];
  /** when each fault was asked for, in ms since the guest resumed here (the first FAULT_TIMES) */
  private faultTimes: number[] = [];
  private resumedAt = 0;
  /** resolves when every page is here (post-copy), or the immigration ended otherwise */
  readonly settled: Promise<void>;
  private settle!: () => void;
  private finished = false;

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
        onFault: (page) => {
          if (!this.asked.has(page)) {
            const t = performance.now();
            this.asked.set(page, t);
            if (this.faultTimes.length < FAULT_TIMES) this.faultTimes.push(Math.round((t - this.resumedAt) * 100) / 100);
          }
          ctx.link.send({ t: "migFault", mid: ctx.mid, page });
        },
      },
      true,
    ); // fresh: no page arrives before it is ready
  }

  get postCopying(): boolean {
    return this.missing !== null && this.missing > 0;
  }

  private presentMap(): Uint8Array {
    const L = this.ctx.image.layout;
    return new Uint8Array(this.memory.buffer, L.present, L.trackedPages);
  }

  private grow(pages: number): void {
    const have = memoryPages(this.memory);
    if (pages > have) this.memory.grow(pages - have);
  }

  pages(m: MessageOf<"migPages">): void {
    const L = this.ctx.image.layout;
    const batch = openBatch(m, L.pageSize);
    if (!batch) return this.refuse("a page batch failed its checksum");
    const top = Math.max(...batch.indices) + 1;
    this.grow(Math.ceil((top * L.pageSize) / WASM_PAGE));
    const bytes = new Uint8Array(this.memory.buffer);
    const present = this.presentMap();
    const zero = new Uint8Array(L.pageSize);
    batch.indices.forEach((p, i) => {
      const data = batch.data.length ? batch.data.subarray(i * L.pageSize, (i + 1) * L.pageSize) : zero;
      if (this.missing !== null) {
        if (present[p]) return; // the guest has it already (and may have written it since)
        this.proc.installPage(p, data, false);
        this.missing--;
        const t = this.asked.get(p);
        if (t !== undefined) this.latencies.push((performance.now() - t) * 1000);
      } else bytes.set(data, p * L.pageSize);
    });
    if (this.missing !== null) this.proc.wake();
    if (this.missing === 0) this.complete();
  }

  async handover(m: MessageOf<"migHandover">): Promise<void> {
    const L = this.ctx.image.layout;
    const { frozen, seq, verify } = m.state;
    const mail = new ProcessMail(this.ctx.mailCapacity, m.state.mail);
    this.grow(m.memoryPages);
    const absent = new Uint32Array(new Uint8Array(m.absent).buffer);
    const range = m.absentTo - m.absentFrom;
    if (verify) {
      const bad = verifyMismatch(verify, verifyDigests(new Uint8Array(this.memory.buffer), L, absent, [m.absentFrom, m.absentTo]));
      if (bad) return this.refuse(`end-to-end check: ${bad}`);
    }
    new Uint8Array(this.memory.buffer).set(m.asyncify, L.asyncStart);
    if (this.ctx.variant === "postcopy") {
      const present = this.presentMap();
      present.fill(1);
      if (range > 0) present.fill(0, m.absentFrom, m.absentTo);
      for (const p of absent) present[p] = 0;
      this.missing = absent.length + Math.max(0, range);
    }
    await this.proc.ready;
    this.resumedAt = performance.now();
    this.proc.go(frozen);
    const at = await this.proc.resumed;
    this.ctx.link.send({ t: "migResumed", mid: this.ctx.mid, at });
    this.ctx.onArrived(this.proc, seq, mail);
    if (this.missing === 0) this.complete();
    if (this.missing === null) {
      this.finished = true;
      this.settle();
    }
  }

  private complete(): void {
    if (this.finished) return;
    this.finished = true;
    this.settle();
    this.ctx.link.send({
      t: "migDone",
      mid: this.ctx.mid,
      stats: {
        faults: this.asked.size,
        faultP50Us: Math.round(percentile(this.latencies, 50) || 0),
        faultP99Us: Math.round(percentile(this.latencies, 99) || 0),
        faultTimesMs: this.faultTimes,
      },
    });
  }

  /** Fails the migration from here (before the handover). */
  refuse(reason: string): void {
    this.ctx.link.send({ t: "migRefuse", mid: this.ctx.mid, reason });
    this.discard(reason);
  }

  /** The source aborted, or went away before the handover. */
  discard(reason: string): void {
    if (this.finished) return;
    this.finished = true;
    this.settle();
    void this.proc.kill(reason);
    this.ctx.onDiscarded(reason);
  }

  /** The source's link closed. */
  sourceLost(): void {
    if (this.postCopying) {
      const n = this.missing!;
      this.finished = true;
      this.settle();
      void this.proc.kill(`the source node died during post-copy with ${n} pages still missing; the process cannot continue`);
    } else if (!this.finished && this.missing === null) {
      this.discard("the source node went away before the handover");
    }
  }
}
