// The guests the tests run, built by the project's own toolchain, and the
// small harness that runs them to the end, or frozen and restored on the way.

import { join } from "node:path";
import { buildCached } from "../host/build/cache.js";
import type { BuildOptions } from "../host/build/options.js";
import { Image } from "../host/image.js";
import { GuestProcess, type ExitStatus } from "../host/process.js";
import { decodeSnapshot, encodeSnapshot } from "../host/snapshot/codec.js";
import type { Variant } from "../host/instrument/variants.js";
import type { Snapshot } from "../host/snapshot/snapshot.js";
import { EXAMPLES, ROOT } from "../host/paths.js";
import { LocalMail } from "../host/messaging/local-mail.js";

export interface Guest {
  name: string;
  file: string;
  /** arguments that make a test-sized run (a few hundred ms) */
  args: string[];
  options?: BuildOptions;
}

const example = (name: string, args: string[]): Guest => ({ name, file: join(EXAMPLES, `${name}.ts`), args });
const testGuest = (name: string, options?: BuildOptions): Guest => ({
  name,
  file: join(ROOT, "tests", "guests", `${name}.ts`),
  args: [],
  options,
});

export const EXAMPLE_GUESTS: Guest[] = [
  example("counter", ["4"]),
  example("recursion", ["3000", "120"]),
  example("indirect", ["6000000"]),
  example("strings", ["120000"]),
  example("float", ["500"]),
  example("bytes", ["8", "300"]),
  example("grow", ["120"]),
  // a ring of one: every token a message to itself (register, whereis, send and recv, frozen in any of them)
  example("token-ring", ["0", "1", "400", "100"]),
];
const workload = (name: string, args: string[]): Guest => ({ name, file: join(ROOT, "assembly", "workloads", `${name}.ts`), args });

/** The benchmark workloads, test-sized (MiB, amount of work). */
export const WORKLOADS: Guest[] = [
  workload("kvstore", ["4", "1500000"]),
  workload("life", ["2", "8"]),
  workload("nbody", ["0", "300000"]),
  workload("sort", ["2", "4"]),
  workload("hash", ["2", "3"]),
  workload("gc", ["2", "400000"]),
  workload("idle", ["4", "8"]),
];
export const MEMOPS = testGuest("memops");
export const TRAPS = testGuest("traps");
export const FLOATS = testGuest("floats");
export const DEEP = testGuest("deep");
export const SELFMAIL = testGuest("selfmail");
export const RELAY = testGuest("relay");
export const FLOOD = testGuest("flood");
export const DEEP_TINY_BUFFER = { ...testGuest("deep", { asyncifyStack: 1024, maxMemory: 16 * 1024 * 1024 }), name: "deep-tiny" };
/** The examples that need partners (run on a cluster by the messaging tests). */
export const TALKING_GUESTS: Guest[] = [example("ping-pong", []), example("kv", []), example("stream", [])];
export const ALL_GUESTS = [
  ...EXAMPLE_GUESTS,
  ...TALKING_GUESTS,
  ...WORKLOADS,
  MEMOPS,
  TRAPS,
  FLOATS,
  DEEP,
  DEEP_TINY_BUFFER,
  SELFMAIL,
  RELAY,
];

export async function guestBytes(g: Guest): Promise<Uint8Array> {
  return buildCached(g.file, g.options ?? {}, () => undefined);
}

export async function guestImage(g: Guest): Promise<Image> {
  return Image.fromBytes(await guestBytes(g), `${g.name}.wasm`);
}

export interface Run {
  lines: string[];
  status: ExitStatus;
  /** how many times it was frozen and restored on the way */
  freezes: number;
  /** the snapshots taken on the way */
  snapshots: Snapshot[];
}

/** Runs to the end, untouched (its messages to itself in a local mailbox). */
export async function runToEnd(image: Image, args: string[], variant: Variant = "plain"): Promise<Run> {
  const lines: string[] = [];
  const post = new LocalMail("A.1");
  const p = GuestProcess.start(image, { pid: "A.1", node: "A", args, variant, onOutput: (l) => lines.push(l), onMail: post.onMail });
  post.attach(p);
  return { lines, status: await p.exited, freezes: 0, snapshots: [] };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Runs to the end, freezing after each delay in turn; every freeze goes through
 * the snapshot file encoding into a fresh worker on a fresh memory (in the
 * variant given for that step, or plain).
 */
export async function runWithFreezes(
  image: Image,
  args: string[],
  delays: number[],
  variants: Variant[] = [],
  /** count each delay from the guest's next output line instead of from the last restore */
  fromLine = false,
): Promise<Run> {
  const lines: string[] = [];
  let lineSeen: (() => void) | null = null;
  const onOutput = (l: string) => {
    lines.push(l);
    lineSeen?.();
  };
  let post = new LocalMail("A.1");
  let p = GuestProcess.start(image, { pid: "A.1", node: "A", args, onOutput, onMail: post.onMail });
  post.attach(p);
  const snapshots: Snapshot[] = [];
  for (const [i, delay] of delays.entries()) {
    if (fromLine) await Promise.race([new Promise<void>((r) => (lineSeen = r)), p.exited]);
    lineSeen = null;
    await sleep(delay);
    const state = await p.freeze();
    if (!state) break;
    post.mail.reconcile(state.mail);
    const snap: Snapshot = decodeSnapshot(encodeSnapshot(p.capture([], post.mail.state())));
    await p.release();
    post = new LocalMail("A.1", snap.mail);
    p = GuestProcess.restore(image, snap, { pid: "A.1", node: "A", args, variant: variants[i] ?? "plain", onOutput, onMail: post.onMail });
    post.attach(p);
    snapshots.push(snap);
  }
  return { lines, status: await p.exited, freezes: snapshots.length, snapshots };
}
