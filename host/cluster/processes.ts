// The process table of a node: every process it runs, and the last MAX_ENDED
// that ended here, each with what `ps` shows of it, its numbered output
// (output-log.ts), the clients watching that output, and its migration, if one
// is under way.
//
// A process's worker (GuestProcess) can change while the process lives: a
// variant switch or an arrival installs a new one (adopt), and its mailbox
// (messaging/process-mail.ts, served by cluster/messaging/) hands the new
// worker what the guest has not received yet. How a worker ends is recorded
// only if it is still the process's worker and was not let go by a freeze (a
// migration or a switch).

import { GuestProcess, type MailRequest } from "../process.js";
import { ProcessMail } from "../messaging/process-mail.js";
import { counterOf, originOf } from "../messaging/addresses.js";
import type { Image } from "../image.js";
import type { MessageLink } from "../net/link.js";
import { memoryPages } from "../memory/pages.js";
import { WASM_PAGE } from "../memory/layout.js";
import { OutputLog } from "./output-log.js";
import { OutputFlow } from "./output-flow.js";
import type { ProcInfo } from "./views.js";

/** How long a watcher may read nothing while a guest waits for it before it is dropped (--reader-timeout). */
export const DEFAULT_READER_TIMEOUT_MS = 30_000;

/** The highest pid counter taken from what others say (a pid has up to 15 digits: this leaves a thousand times as many). */
const MAX_HEARD_COUNTER = 1e12;

/** Ended processes a node keeps listing (the oldest are forgotten). */
export const MAX_ENDED = 200;

export interface Proc {
  info: ProcInfo;
  /** performance.now() at its start (counting the uptime it brought along) and at its end */
  began: number;
  ended: number | null;
  /** its worker, while it runs here */
  process: GuestProcess | null;
  image: Image;
  watchers: Set<MessageLink>;
  output: OutputLog;
  migrating: { mid: number; cancel: boolean } | null;
  /** after a post-copy arrival: until every page is here and it runs the plain variant again */
  settling: Promise<void> | null;
  /** its mailbox (kept after it ended, to tell a copy of a message it took from one it never saw) */
  mail: ProcessMail;
}

/** What a new entry is told; the rest starts as a fresh running process's. */
export type NewProc = Partial<ProcInfo> & { pid: string; module: string; args: string[] };

export class ProcessTable {
  private readonly procs = new Map<string, Proc>();
  private counter = 0;
  private readonly started: Array<(p: Proc) => void> = [];
  private readonly ended: Array<(p: Proc) => void> = [];
  /** what a guest asks of messaging (the post office sets it) */
  onMail: ((proc: Proc, m: MailRequest, gp: GuestProcess) => void) | null = null;

  constructor(
    private readonly node: string,
    /** prints a line on the node's terminal; a promise returned: the terminal is full until it settles */
    private readonly log: (line: string) => unknown,
    private readonly event: (line: string) => void,
    /** messages a mailbox holds (--mailbox) */
    readonly mailCapacity?: number,
    /** pauses a guest whose readers do not keep up (output-flow.ts) */
    private readonly flow = new OutputFlow(DEFAULT_READER_TIMEOUT_MS, event),
  ) {}

  /** What `ps` shows of a running process's CPU (the node sets it to its CpuShare's figures). */
  cpuOf: (pid: string) => { demand: number; cpu: number } = () => ({ demand: 1, cpu: 0 });

  /** Calls `f` with every process started here. */
  onStarted(f: (p: Proc) => void): void {
    this.started.push(f);
  }

  /** Calls `f` with every process that ends here (not one that leaves). */
  onEnded(f: (p: Proc) => void): void {
    this.ended.push(f);
  }

  /** The GuestProcess option that hands a guest's messaging requests to onMail. */
  guestMail(pid: string): (m: MailRequest, gp: GuestProcess) => void {
    return (m, gp) => {
      const p = this.procs.get(pid);
      if (p && this.onMail) this.onMail(p, m, gp);
      else this.event(`a ${m.t} of ${pid} came before the process was listed here; ignored`);
    };
  }

  /** Whether this node has handed out `pid` (or, as far as it heard, did in an earlier life). */
  issued(pid: string): boolean {
    const k = counterOf(pid);
    return originOf(pid) === this.node && k >= 1 && k <= this.counter;
  }

  /**
   * A pid of this node's name seen elsewhere (a heartbeat, a member's word at
   * our join, after a restart): never hand out a pid again, even one whose
   * process is gone: other processes remember what they took from it.
   */
  seenPid(pid: string): void {
    const k = counterOf(pid);
    // a counter no honest node reaches is a member's nonsense: taking it would run the pids out of digits
    if (originOf(pid) === this.node && k > this.counter && k <= MAX_HEARD_COUNTER) this.counter = k;
  }

  get(pid: string): Proc | undefined {
    return this.procs.get(pid);
  }

  /** The processes running here now. */
  running(): Proc[] {
    return [...this.procs.values()].filter((p) => p.info.state === "running");
  }

  /** A pid for a new process: this node's name and a counter. */
  nextPid(): string {
    return `${this.node}.${++this.counter}`;
  }

  /** Enters a process (new, or arriving with `uptimeMs` and `seq` output lines behind it, and its mailbox). */
  add(image: Image, info: NewProc, uptimeMs = 0, seq = 0, mail = new ProcessMail(this.mailCapacity)): Proc {
    const proc: Proc = {
      began: performance.now() - uptimeMs,
      ended: null,
      image,
      process: null,
      watchers: new Set(),
      output: new OutputLog(seq),
      migrating: null,
      settling: null,
      mail,
      info: {
        node: this.node,
        state: "running",
        code: null,
        error: null,
        memory: 0,
        startedAt: Date.now(),
        uptimeMs: 0,
        migrations: 0,
        name: null,
        mailbox: 0,
        demand: 1,
        cpu: 0,
        ...info,
      },
    };
    this.procs.set(info.pid, proc);
    return proc;
  }

  /** Starts a new process of `image` here. */
  start(image: Image, module: string, args: string[], watcher: MessageLink | null): Proc {
    const pid = this.nextPid();
    const proc = this.add(image, { pid, module, args });
    if (watcher) proc.watchers.add(watcher);
    for (const f of this.started) f(proc);
    const onMail = this.guestMail(pid);
    this.adopt(proc, GuestProcess.start(image, { pid, node: this.node, args, onOutput: (line) => this.print(pid, line), onMail }));
    this.event(`process ${pid} started: ${[module, ...args].join(" ")}`);
    return proc;
  }

  /** The process has left this node: it is no longer listed here. */
  remove(pid: string): void {
    this.procs.delete(pid);
  }

  /**
   * One line of a process's output: numbered, kept for replay, shown here, sent to its watchers.
   * Returns what the guest's output window waits for, if a watcher does not keep up (output-flow.ts).
   */
  print(pid: string, line: string): Promise<void> | undefined {
    const p = this.procs.get(pid);
    if (!p) return;
    const seq = p.output.append(line);
    const shown = this.log(`[${pid}] ${line}`);
    for (const w of p.watchers) w.send({ t: "output", pid, seq, line });
    const held = this.flow.after(p);
    // the node's own terminal is a reader too: while it does not keep up, the guest waits for it as well
    if (shown instanceof Promise) return held ? Promise.all([shown, held]).then(() => undefined) : shown;
    return held;
  }

  /** Makes `gp` the process's worker and records how it ends (unless it is let go: migrated or switched). */
  adopt(proc: Proc, gp: GuestProcess): void {
    if (proc.process === gp) return; // already its worker (a rollback that kept it)
    proc.process = gp;
    proc.mail.attach(gp);
    const pid = proc.info.pid;
    void gp.exited.then((s) => {
      if (s.outcome === "released" || proc.process !== gp) return;
      proc.info.state = s.outcome === "exited" ? "exited" : s.error === "killed" ? "killed" : "trapped";
      proc.info.code = s.code;
      proc.info.error = s.error;
      proc.ended = performance.now();
      proc.process = null;
      this.event(`process ${pid} ${s.error ? `ended: ${s.error}` : `exited with code ${s.code}`}`);
      for (const w of proc.watchers) w.send({ t: "exited", pid, code: s.code, error: s.error ?? "" });
      proc.watchers.clear();
      for (const f of this.ended) f(proc);
      this.forgetOldEnded();
    });
  }

  /** A client went away: it watches nothing any more. */
  unwatch(link: MessageLink): void {
    for (const p of this.procs.values()) p.watchers.delete(link);
  }

  /** What `ps` shows of the processes here, now. */
  infos(): ProcInfo[] {
    return [...this.procs.values()].map((p) => this.info(p));
  }

  info(p: Proc): ProcInfo {
    return {
      ...p.info,
      memory: p.process ? p.process.memory.buffer.byteLength : 0,
      uptimeMs: Math.round((p.ended ?? performance.now()) - p.began),
      name: p.info.state === "running" ? p.mail.name : null,
      mailbox: p.mail.depth,
      ...(p.info.state === "running" ? this.cpuOf(p.info.pid) : { demand: 0, cpu: 0 }),
    };
  }

  /** Guest memory in use here, bytes. */
  memoryInUse(): number {
    return this.running().reduce((a, p) => a + (p.process ? memoryPages(p.process.memory) * WASM_PAGE : 0), 0);
  }

  /** Guest memory promised here: the sum of the running guests' maximum memories, bytes. */
  memoryPromised(): number {
    return this.running().reduce((a, p) => a + p.image.layout.maxPages * WASM_PAGE, 0);
  }

  private forgetOldEnded(): void {
    const ended = [...this.procs.values()].filter((p) => p.info.state !== "running");
    for (const p of ended.slice(0, Math.max(0, ended.length - MAX_ENDED))) this.procs.delete(p.info.pid);
  }
}
