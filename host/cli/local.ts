// Running guests in this process, without a node: `migrant run` (with an
// optional checkpoint to a file) and `migrant resume`.

import { readFileSync, renameSync, writeFileSync, unlinkSync } from "node:fs";
import { basename } from "node:path";
import { Image } from "../image.js";
import { GuestProcess, type ExitStatus } from "../process.js";
import { encodeSnapshot } from "../snapshot/codec.js";
import { openSnapshot } from "../snapshot/check.js";
import { UsageError, SnapshotFormatError } from "../errors.js";
import { buildCached } from "../build/cache.js";
import type { BuildOptions } from "../build/options.js";
import { formatSize } from "../text/size.js";
import { stdio, type Console } from "./console.js";
import { LocalMail } from "../messaging/local-mail.js";

export interface RunOptions {
  nodeName: string;
  checkpointAfter?: number;
  to?: string;
  build: BuildOptions;
}

/** Loads a guest given as .wasm, or builds a .ts first. */
export async function loadImage(program: string, build: BuildOptions, io: Console): Promise<Image> {
  if (program.endsWith(".ts")) return Image.fromBytes(await buildCached(program, build, io.note), basename(program));
  return Image.fromFile(program);
}

function report(s: ExitStatus, pid: string, io: Console): number {
  if (s.error) io.note(`process ${pid} ended: ${s.error}`);
  return s.code;
}

/** `migrant run`: runs to the end (exit code), or to a checkpoint (0). */
export async function runLocal(program: string, args: string[], o: RunOptions, io: Console = stdio): Promise<number> {
  if ((o.checkpointAfter === undefined) !== (o.to === undefined)) {
    throw new UsageError("--checkpoint-after and --to go together: `migrant run prog.wasm --checkpoint-after 500 --to prog.snap`");
  }
  const image = await loadImage(program, o.build, io);
  const pid = `${o.nodeName}.1`;
  const post = new LocalMail(pid, undefined, io.note);
  const proc = GuestProcess.start(image, { pid, node: o.nodeName, args, onOutput: io.out, onMail: post.onMail });
  post.attach(proc);
  if (o.checkpointAfter === undefined) return report(await proc.exited, pid, io);

  const timer = new Promise<"checkpoint">((r) => setTimeout(() => r("checkpoint"), o.checkpointAfter));
  const first = await Promise.race([proc.exited, timer]);
  if (first !== "checkpoint") {
    io.note(`process ${pid} ended before the checkpoint; no snapshot written`);
    return report(first, pid, io);
  }
  const state = await proc.freeze();
  if (!state) {
    io.note(`process ${pid} ended before the checkpoint; no snapshot written`);
    return report(await proc.exited, pid, io);
  }
  post.mail.reconcile(state.mail);
  const snap = proc.capture([], post.mail.state());
  try {
    writeAtomically(o.to!, encodeSnapshot(snap));
  } catch (e) {
    io.note(`could not write the snapshot to ${o.to}: ${(e as Error).message}; the process carries on`);
    proc.resume();
    return report(await proc.exited, pid, io);
  }
  await proc.release();
  io.note(
    `process ${pid} checkpointed to ${o.to} (${snap.pages.indices.length} pages, ${formatSize(snap.pages.data.length)}` +
      (snap.mail.inbox.length ? `, ${snap.mail.inbox.length} messages queued` : "") +
      "); " +
      `continue it with: migrant resume ${o.to}`,
  );
  return 0;
}

function writeAtomically(file: string, data: Buffer): void {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, file);
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {
      /* nothing written */
    }
    throw e;
  }
}

/** `migrant resume FILE`: continues a snapshot here, to the end. */
export async function resumeLocal(file: string, nodeName: string, io: Console = stdio): Promise<number> {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    throw new UsageError(`${file}: ${(e as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (e as Error).message}`);
  }
  const { snap, image } = openSnapshot(bytes, file);
  const post = new LocalMail(snap.pid, snap.mail, io.note);
  let proc: GuestProcess;
  try {
    proc = GuestProcess.restore(image, snap, { pid: snap.pid, node: nodeName, args: snap.args, onOutput: io.out, onMail: post.onMail });
  } catch (e) {
    // checkSnapshot should have refused whatever gets here: still a refusal, not a crash
    throw new SnapshotFormatError(`${file} cannot be resumed (${(e as Error).message})`);
  }
  post.attach(proc);
  return report(await proc.exited, snap.pid, io);
}
