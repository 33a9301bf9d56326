// Running the real `migrant` command and real nodes as child processes.

import { execFile, spawn, type ChildProcess } from "node:child_process";
import { BIN, spawnNode } from "../host/cluster/spawn.js";
import { rssMiB } from "../bench/stats.js";
export { BIN };

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `migrant ARGS` to its end (60 s at most, unless told). */
export function migrant(args: string[], env: Record<string, string> = {}, timeoutMs = 60_000): Promise<Result> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { timeout: timeoutMs, env: { ...process.env, ...env } }, (err, stdout, stderr) => {
      const code = err ? (err as unknown as { code?: unknown }).code : 0;
      resolve({ code: typeof code === "number" ? code : 1, stdout, stderr });
    });
  });
}

export const lines = (s: string) => s.split("\n").filter((l) => l.length > 0);

export interface RunningNode {
  name: string;
  url: string;
  child: ChildProcess;
  output: string[];
  /** resolves with the exit code */
  exited: Promise<number | null>;
  waitFor(pattern: RegExp, ms?: number): Promise<string>;
}

/** Lines as they come (a process's output), and waits for the first that matches a pattern. */
export class LineLog {
  readonly lines: string[] = [];
  private readonly waiters: Array<() => void> = [];

  constructor(private readonly who: string) {}

  readonly push = (line: string): void => {
    this.lines.push(line);
    this.wake();
  };

  /** Checks the waits again (the output may have ended). */
  wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** The first line matching `pattern`, now or when it comes; rejects after `ms` with every line so far. */
  waitFor(pattern: RegExp, ms: number): Promise<string> {
    return new Promise((resolve, reject) => {
      const deadline = setTimeout(
        () => reject(new Error(`${this.who}: no line matching ${pattern} within ${ms} ms:\n${this.lines.join("\n")}`)),
        ms,
      );
      let checked = 0; // lines looked at so far: each is tested once, however long the log grows
      const check = () => {
        let hit: string | undefined;
        for (; hit === undefined && checked < this.lines.length; checked++)
          if (pattern.test(this.lines[checked])) hit = this.lines[checked];
        if (hit === undefined) return void this.waiters.push(check);
        clearTimeout(deadline);
        resolve(hit);
      };
      check();
    });
  }
}

/** Starts `migrant node --name NAME --port 0 ...ARGS` and waits until it listens. */
export async function startNode(name: string, args: string[], env: Record<string, string> = {}): Promise<RunningNode> {
  const log = new LineLog(`node ${name}`);
  const spawned = spawnNode(name, args, log.push, { ...process.env, ...env });
  const child = spawned.child;
  const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
  void exited.then(() => setTimeout(() => log.wake(), 50));
  const waitFor = (pattern: RegExp, ms = 10_000) => log.waitFor(pattern, ms);
  try {
    const url = await spawned.url;
    return { name, url, child, output: log.lines, exited, waitFor };
  } catch {
    await exited;
    throw new Error(`node ${name} exited before listening:\n${log.lines.join("\n")}`);
  }
}

/** Polls `check` until it returns a value (bounded: `ms` in all). */
export async function eventually<T>(check: () => Promise<T | undefined>, ms = 8000, what = "condition"): Promise<T> {
  const end = performance.now() + ms;
  for (let i = 0; i < 400; i++) {
    const v = await check();
    if (v !== undefined) return v;
    if (performance.now() > end) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

export interface Background {
  child: ChildProcess;
  /** stdout lines so far */
  out: string[];
  /** resolves at its first stdout line (or when it ends without one) */
  firstLine: Promise<void>;
  done: Promise<Result>;
}

/** Starts `migrant ARGS` and lets it run; `done` resolves when it ends (120 s at most). */
export function background(args: string[], env: Record<string, string> = {}): Background {
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  const out: string[] = [];
  let sawLine!: () => void;
  const firstLine = new Promise<void>((r) => (sawLine = r));
  let stdout = "";
  let stderr = "";
  let partial = "";
  child.stdout!.on("data", (d: Buffer) => {
    stdout += d.toString();
    partial += d.toString();
    const parts = partial.split("\n");
    partial = parts.pop()!;
    out.push(...parts);
    if (out.length) sawLine();
  });
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill("SIGKILL"), 120_000);
  const done = new Promise<Result>((resolve) =>
    child.on("close", (code) => {
      clearTimeout(timer);
      sawLine();
      resolve({ code: code ?? 1, stdout, stderr });
    }),
  );
  return { child, out, firstLine, done };
}

/** The resident memory of a process (Linux /proc; the benchmark's reader), bytes. */
export function rssOf(pid: number): number {
  const mib = rssMiB(pid);
  if (!Number.isFinite(mib)) throw new Error(`no VmRSS for process ${pid}`);
  return mib * 1024 * 1024;
}

/** Two nodes, A and B joined to it, beating every 200 ms; `stop` kills both. */
export async function startPair(): Promise<{ A: RunningNode; B: RunningNode; stop(): void }> {
  const A = await startNode("A", ["--heartbeat", "200"]);
  const B = await startNode("B", ["--heartbeat", "200", "--join", A.url]);
  return { A, B, stop: () => [A, B].forEach((n) => n.child.kill("SIGKILL")) };
}
