// A process as the node's main thread sees it: a worker running one guest on
// one shared memory, and the operations of docs/DESIGN.md section 4: start, freeze
// (and then capture, resume in place, or let go), restore from a snapshot.
//
// Freezing: set the interrupt word and bump the wake word (so that a sleeping
// guest wakes up); the worker reports "frozen" once the guest has unwound.
// Only then is the memory quiescent and can be copied.
//
// A warm worker (prepare) is ready once it has loaded and answered one
// message (prime/primed): a worker's first message takes 1.5-2 ms to arrive
// where later ones take 0.2 ms, and `go`, which ends a pause, must not be it.

import { MessageChannel, Worker, type MessagePort } from "node:worker_threads";
import type { Image } from "./image.js";
import { AsyncifyOverflowError, ProcessStateError } from "./errors.js";
import {
  CTRL,
  CTRL_INTERRUPT,
  CTRL_OUTPUT,
  CTRL_WAKE,
  INTERRUPT_FREEZE,
  INTERRUPT_HOLD,
  CTRL_ORDERS,
  OUTPUT_WINDOW,
  type Layout,
} from "./memory/layout.js";
import { capturePages, installPages, memoryPages, newMemory } from "./memory/pages.js";
import { PRIMARY, type Variant } from "./instrument/variants.js";
import type { Snapshot } from "./snapshot/snapshot.js";
import type { FromWorker, FrozenState, ToInbox, ToWorker, WorkerInit } from "./worker/messages.js";
import { WORKER_SCRIPT } from "./paths.js";
import { reportBug } from "./bug.js";
import { ProcessMail, type MailState } from "./messaging/process-mail.js";
import { reclaimSoon } from "./memory/reclaim.js";
import { askPause } from "./worker/waits.js";

export interface ProcessOptions {
  pid: string;
  node: string;
  args: string[];
  /** module variant to run (default: plain, polls only) */
  variant?: Variant;
  /**
   * One call per line the guest prints. A promise returned holds the line's
   * place in the guest's output window until it settles (cluster/output-flow.ts):
   * a guest whose readers do not keep up waits.
   */
  onOutput?: (line: string) => unknown;
  /** post-copy: the guest waits for `page`; answer with installPage */
  onFault?: (page: number, process: GuestProcess) => void;
  /** the guest sends, took a message, or asks (register, whereis); answer with toInbox */
  onMail?: (m: MailRequest, process: GuestProcess) => void;
}

/** What a guest asks of its node's messaging. */
export type MailRequest = Extract<FromWorker, { t: "send" | "took" | "call" }>;

export interface RestoreOptions extends ProcessOptions {
  /** post-copy: tracked pages left out of the memory, fetched on fault */
  absentPages?: Iterable<number>;
}

export interface ExitStatus {
  /** how the process ended here: it exited (code), trapped (error), or was let go after a freeze */
  outcome: "exited" | "trapped" | "released";
  code: number;
  error: string | null;
}

type State = "prepared" | "running" | "freezing" | "frozen" | "ended";

export class GuestProcess {
  readonly exited: Promise<ExitStatus>;
  /** a warm worker is loaded and waits for `go` */
  readonly ready: Promise<void>;
  /** when the guest ran again after `go` (epoch ms, as the worker saw it) */
  readonly resumed: Promise<number>;
  readonly pid: string;
  /** milliseconds the guest ran in its worker (known once it has exited) */
  runMs = 0;
  /** when the guest last stopped for a freeze (epoch ms, as the worker saw it: worker/guest-clock.ts), or null */
  stoppedAt: number | null = null;
  /** the pause its guest saw when this worker took it over from another variant's (switchVariant), ms; 0 otherwise */
  switchPauseMs = 0;
  private state: State = "running";
  /** output lines taken whose places in the window are held for a slow reader */
  private owed = 0;
  private frozen: FrozenState | null = null;
  private waiter: { resolve(s: FrozenState | null): void; reject(e: Error): void } | null = null;
  private readonly ctrl: Int32Array;
  private readonly worker: Worker;
  private readonly inbox: MessagePort;
  private finish!: (s: ExitStatus) => void;
  private isReady!: () => void;
  private wasResumed!: (at: number) => void;
  private notReady!: (e: Error) => void;
  private notResumed!: (e: Error) => void;

  private constructor(
    readonly image: Image | null,
    readonly layout: Layout,
    readonly memory: WebAssembly.Memory,
    private readonly opts: ProcessOptions,
    module: WebAssembly.Module,
    readonly variant: Variant | null,
    restore: "later" | "fresh" | null,
    emptyData = false,
  ) {
    const channel = new MessageChannel();
    this.inbox = channel.port1;
    const init: WorkerInit = {
      module,
      memory,
      layout,
      variant,
      pid: opts.pid,
      node: opts.node,
      args: opts.args,
      restore,
      emptyData,
      inbox: channel.port2,
    };
    this.pid = opts.pid;
    this.ctrl = new Int32Array(memory.buffer, CTRL, 16);
    if (restore) this.state = "prepared";
    this.exited = new Promise((r) => (this.finish = r));
    // both reject if the worker ends first (whoever waits is told; nobody waiting is no unhandled rejection)
    this.ready = new Promise<void>((resolve, reject) => {
      this.isReady = resolve;
      this.notReady = reject;
    });
    this.resumed = new Promise<number>((resolve, reject) => {
      this.wasResumed = resolve;
      this.notResumed = reject;
    });
    this.ready.catch(() => undefined);
    this.resumed.catch(() => undefined);
    this.worker = new Worker(WORKER_SCRIPT, { workerData: init, transferList: [channel.port2] });
    this.worker.on("message", (m: FromWorker) => {
      try {
        this.onMessage(m);
      } catch (e) {
        reportBug(`the node's handling of "${m.t}" from the worker of process ${this.pid}`, e);
      }
    });
    this.worker.on("error", (e) => this.end({ outcome: "trapped", code: 1, error: `worker failed: ${e.message}` }));
    this.worker.on("exit", () => this.end({ outcome: "trapped", code: 1, error: "the worker ended unexpectedly" }));
  }

  /** Starts a new process of `image`. */
  static start(image: Image, opts: ProcessOptions): GuestProcess {
    const layout = image.layout;
    const variant = opts.variant ?? PRIMARY;
    const memory = newMemory(layout);
    // a new process has every page (post-copy only ever removes some on restore)
    if (variant === "postcopy") new Uint8Array(memory.buffer, layout.present, layout.trackedPages).fill(1);
    return new GuestProcess(image, layout, memory, opts, image.module(variant), variant, null);
  }

  /** Runs an uninstrumented build (no freezing): the overhead baseline. */
  static startUninstrumented(module: WebAssembly.Module, layout: Layout, opts: ProcessOptions): GuestProcess {
    return new GuestProcess(null, layout, newMemory(layout), opts, module, null, null);
  }

  /**
   * A warm process: its worker starts now on `memory` (which holds, or will
   * hold by `go`, the process's pages) and waits, so that resuming later costs
   * only an instantiation. `fresh`: the memory is new and gets its pages only
   * once this worker is ready; the worker then instantiates at once, and
   * resuming costs not even that.
   */
  static prepare(image: Image, memory: WebAssembly.Memory, opts: ProcessOptions, fresh = false): GuestProcess {
    const variant = opts.variant ?? PRIMARY;
    const empty = image.resumingModule(variant);
    return new GuestProcess(image, image.layout, memory, opts, empty ?? image.module(variant), variant, fresh ? "fresh" : "later", !!empty);
  }

  /** Resumes a prepared process from its frozen state (its memory must be complete, or post-copy present-mapped). */
  go(state: FrozenState): void {
    if (this.state !== "prepared") throw new ProcessStateError(`process ${this.pid} is not waiting to resume`);
    this.state = "running";
    this.post({ t: "go", state });
  }

  /** Continues a frozen process from its snapshot, in a new worker on a new memory. */
  static restore(image: Image, snap: Snapshot, opts: RestoreOptions): GuestProcess {
    const layout = image.layout;
    const variant = opts.variant ?? PRIMARY;
    const memory = newMemory(layout, snap.memoryPages);
    const absent = new Set(opts.absentPages ?? []);
    if (absent.size && variant !== "postcopy") throw new ProcessStateError("absent pages need the postcopy variant");
    installPages(memory, layout, snap.pages, absent);
    if (variant === "postcopy") {
      const present = new Uint8Array(memory.buffer, layout.present, layout.trackedPages);
      present.fill(1);
      for (const p of absent) present[p] = 0;
    }
    new Uint8Array(memory.buffer).set(snap.asyncify, layout.asyncStart);
    for (const line of snap.pendingOutput) opts.onOutput?.(line);
    const p = GuestProcess.prepare(image, memory, { ...opts, variant, args: snap.args });
    p.go(snap.state);
    return p;
  }

  /**
   * Moves a frozen process to another module variant: a new worker on the same
   * memory resumes it (the variants share one Asyncify layout). This process
   * object is released; the returned one runs.
   */
  async switchVariant(variant: Variant, warm?: GuestProcess): Promise<GuestProcess> {
    if (this.state !== "frozen" || !this.frozen || !this.image) throw new ProcessStateError(`process ${this.pid} is not frozen`);
    const next = warm ?? this.warm(variant);
    await next.ready;
    const state = this.frozen;
    // the new worker first (this one stays frozen, touching nothing), then this one ends: its ending is not in the pause
    Atomics.and(this.ctrl, CTRL_INTERRUPT, ~INTERRUPT_FREEZE);
    next.go(state);
    await this.release();
    // Until the new worker has instantiated and put the static data back, the
    // memory holds the module's initial data segments: nobody may copy it yet.
    next.switchPauseMs = this.pauseUntil(await next.resumed);
    return next;
  }

  /**
   * The pause the guest saw from its last stop here to its first instruction
   * in `next` (which resumed it): epoch ms on both sides, so `next` may run on
   * another node of this machine (`at`: its migResumed time).
   */
  pauseUntil(at: number): number {
    if (this.stoppedAt === null) throw new ProcessStateError(`process ${this.pid} never stopped`);
    return at - this.stoppedAt;
  }

  /**
   * A worker of `variant` started now on this process's memory, waiting: hand
   * it to switchVariant after the freeze, and the pause no longer includes
   * starting a worker.
   */
  warm(variant: Variant): GuestProcess {
    if (!this.image) throw new ProcessStateError(`process ${this.pid} has no image to switch`);
    return GuestProcess.prepare(this.image, this.memory, { ...this.opts, variant });
  }

  /**
   * Moves a running process to `variant` with the shortest pause: warm the new
   * worker first, then freeze, run `whileFrozen` (the memory is quiescent),
   * and switch. Resolves with the process that runs now, or null if it ended
   * meanwhile (the warm worker is dropped). If the freeze fails (its stack did
   * not fit), it rejects and the process runs on in its variant.
   */
  async toVariant(variant: Variant, whileFrozen?: () => void): Promise<GuestProcess | null> {
    if (this.variant === variant) return this;
    const next = this.warm(variant);
    await next.ready;
    try {
      const state = this.running ? await this.freeze() : null;
      if (!state) {
        await next.kill("not needed");
        return null;
      }
      whileFrozen?.();
      return await this.switchVariant(variant, next);
    } catch (e) {
      await next.kill("not needed");
      throw e;
    }
  }

  /** The dirty map (one byte per tracked page; written by the track and postcopy variants). */
  dirtyMap(): Uint8Array {
    return new Uint8Array(this.memory.buffer, this.layout.dirty, this.layout.trackedPages);
  }

  /** The execution state while frozen, else null. */
  get frozenState(): FrozenState | null {
    return this.state === "frozen" ? this.frozen : null;
  }

  get running(): boolean {
    return this.state === "running";
  }

  /**
   * Asks the guest to stop at its next safepoint. Resolves with its execution
   * state once it has unwound, or null if it ended first. Rejects with
   * AsyncifyOverflowError if its stack did not fit (it then runs on, if it can).
   */
  freeze(): Promise<FrozenState | null> {
    if (this.state === "ended") return Promise.resolve(null);
    if (this.state === "frozen") return Promise.resolve(this.frozen);
    if (this.state === "prepared") throw new ProcessStateError(`process ${this.pid} has not started`);
    if (this.state === "freezing") throw new ProcessStateError(`process ${this.pid} is already being frozen`);
    this.state = "freezing";
    Atomics.or(this.ctrl, CTRL_INTERRUPT, INTERRUPT_FREEZE);
    Atomics.add(this.ctrl, CTRL_WAKE, 1);
    Atomics.notify(this.ctrl, CTRL_WAKE);
    return new Promise((resolve, reject) => (this.waiter = { resolve, reject }));
  }

  /** The snapshot of a frozen process, with its mailbox as its node keeps it (none: empty). */
  capture(pendingOutput: string[] = [], mail: MailState = new ProcessMail().state()): Snapshot {
    if (this.state !== "frozen" || !this.frozen || !this.image) {
      throw new ProcessStateError(`process ${this.pid} is not frozen`);
    }
    const L = this.layout;
    return {
      image: this.image.bytes,
      pid: this.pid,
      node: this.opts.node,
      args: this.opts.args,
      pendingOutput,
      state: this.frozen,
      memoryPages: memoryPages(this.memory),
      asyncify: new Uint8Array(this.memory.buffer, L.asyncStart, this.frozen.asyncUsed).slice(),
      pages: capturePages(this.memory, L),
      mail,
    };
  }

  /** Lets a frozen process run on where it is (a cancelled freeze). */
  resume(): void {
    if (this.state !== "frozen") throw new ProcessStateError(`process ${this.pid} is not frozen`);
    Atomics.and(this.ctrl, CTRL_INTERRUPT, ~INTERRUPT_FREEZE);
    this.state = "running";
    this.frozen = null;
    this.post({ t: "continue" });
  }

  /** Ends a frozen process here (it lives on elsewhere, from its snapshot). */
  async release(): Promise<void> {
    if (this.state !== "frozen") throw new ProcessStateError(`process ${this.pid} is not frozen`);
    this.end({ outcome: "released", code: 0, error: null });
  }

  /** Kills the process wherever it is in its run. */
  async kill(reason = "killed"): Promise<void> {
    this.end({ outcome: "trapped", code: 137, error: reason });
  }

  /**
   * Post-copy: installs the contents of an absent page and, unless told not
   * to (a batch wakes it once, at its end: see wake), wakes the guest.
   */
  installPage(page: number, data: Uint8Array, wake = true): void {
    const L = this.layout;
    new Uint8Array(this.memory.buffer).set(data.subarray(0, L.pageSize), page * L.pageSize);
    Atomics.store(new Uint8Array(this.memory.buffer, L.present, L.trackedPages), page, 1);
    if (wake) this.wake();
  }

  /**
   * Holds the guest at its next safepoint (on), or lets it run on (off): the
   * node's CPU share (cluster/cpu-share.ts). A freeze still goes ahead while it
   * is held; the hold stays with the memory across a variant switch.
   */
  hold(on: boolean): void {
    if (on) Atomics.or(this.ctrl, CTRL_INTERRUPT, INTERRUPT_HOLD);
    else if (Atomics.and(this.ctrl, CTRL_INTERRUPT, ~INTERRUPT_HOLD) & INTERRUPT_HOLD) this.wake();
  }

  /**
   * Pauses the guest for `us` microseconds at its next safepoint (pre-copy's
   * auto-converge; 0: no pause pending). A freeze ends the pause at once.
   */
  throttle(us: number): void {
    askPause(this.ctrl, us);
  }

  /** Wakes a guest waiting for a page (after installPage(..., false)). */
  wake(): void {
    Atomics.add(this.ctrl, CTRL_WAKE, 1);
    Atomics.notify(this.ctrl, CTRL_WAKE);
  }

  /** Puts a message, a send's outcome or an answer into the guest's inbox, and wakes it if it waits. */
  toInbox(m: ToInbox): void {
    if (this.state === "ended") return;
    this.inbox.postMessage(m);
    this.wake();
  }

  /** A line the guest printed: handed on, and its place in the output window given back (now, or once its readers caught up). */
  private output(line: string): void {
    const held = this.opts.onOutput?.(line);
    if (!(held instanceof Promise)) return this.credit(1);
    this.owed++;
    void held.finally(() => {
      const n = this.owed;
      this.owed = 0;
      this.credit(n);
    });
  }

  /** Gives `n` places of the output window back, waking a guest that waits for them. */
  private credit(n: number): void {
    if (this.state === "ended" || n === 0) return;
    const before = Atomics.sub(this.ctrl, CTRL_OUTPUT, n);
    if (before >= OUTPUT_WINDOW / 2 && before - n < OUTPUT_WINDOW / 2) this.wake();
  }

  /** Posts to the worker, and wakes it if it waits for its orders (a warm or frozen worker: worker/guest-worker.ts awaitOrders). */
  private post(m: ToWorker): void {
    this.worker.postMessage(m);
    Atomics.add(this.ctrl, CTRL_ORDERS, 1);
    Atomics.notify(this.ctrl, CTRL_ORDERS);
  }

  private onMessage(m: FromWorker): void {
    switch (m.t) {
      case "out":
        return this.output(m.line);
      case "frozen":
        this.state = "frozen";
        this.frozen = m.state;
        this.stoppedAt = m.at;
        this.waiter?.resolve(m.state);
        this.waiter = null;
        return;
      case "overflow": {
        const err = new AsyncifyOverflowError(m.needed, m.capacity, m.kept);
        if (m.kept) this.state = "running";
        this.waiter?.reject(err);
        this.waiter = null;
        return;
      }
      case "ready":
        // warm, but a worker's first message is slow to arrive: one round trip now, so that `go` is not its first
        // (unless go has left already: restore sends it at once, and the worker would then read prime as an order)
        if (this.state === "prepared") this.post({ t: "prime" });
        else this.isReady();
        return;
      case "primed":
        this.isReady();
        return;
      case "resumed":
        this.wasResumed(m.at);
        return;
      case "fault":
        if (this.opts.onFault) this.opts.onFault(m.page, this);
        else void this.kill().then(() => undefined);
        return;
      case "send":
      case "took":
      case "call":
        this.opts.onMail?.(m, this);
        return;
      case "exit":
        this.runMs = m.runMs;
        this.end({ outcome: m.error ? "trapped" : "exited", code: m.code, error: m.error });
        return;
    }
  }

  private end(s: ExitStatus): void {
    if (this.state === "ended") return;
    this.state = "ended";
    this.waiter?.resolve(null);
    this.waiter = null;
    const why = new ProcessStateError(`process ${this.pid} ended (${s.error ?? `exit code ${s.code}`}) before it ran here`);
    this.notReady(why);
    this.notResumed(why);
    this.finish(s);
    this.inbox.close();
    void this.worker.terminate();
    reclaimSoon(); // its memory is garbage unless another worker of this process runs on it (a variant switch)
  }
}
