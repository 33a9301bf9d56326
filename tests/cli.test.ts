// The `migrant` command, run as a real process: checkpoint to a file and
// resume, exit codes, traps, and every kind of bad input, each with a clear
// message and never a stack trace.

import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { buildPlain } from "../host/build/build.js";
import { ROOT } from "../host/paths.js";
import { EXAMPLE_GUESTS, TRAPS, guestBytes, type Guest } from "./guests.js";
import { lines, migrant as run, type Result } from "./processes.js";

const dir = mkdtempSync(join(tmpdir(), "migrant-cli-"));
const migrant = (...args: string[]) => run(args);

const noStackTrace = (r: Result) => expect(r.stderr).not.toMatch(/^\s+at /m);

async function wasmOf(g: Guest): Promise<string> {
  const file = join(dir, `${g.name}.wasm`);
  writeFileSync(file, await guestBytes(g));
  return file;
}

const counter = EXAMPLE_GUESTS.find((g) => g.name === "counter")!;
const strings = EXAMPLE_GUESTS.find((g) => g.name === "strings")!;
let counterWasm: string;
let stringsWasm: string;
let trapsWasm: string;

beforeAll(async () => {
  counterWasm = await wasmOf(counter);
  stringsWasm = await wasmOf(strings);
  trapsWasm = await wasmOf(TRAPS);
});

describe("run --checkpoint-after / resume", () => {
  it("continues a computing guest from the file: together the output of one whole run", async () => {
    const whole = await migrant("run", stringsWasm, ...strings.args);
    expect(whole.code).toBe(0);
    const snap = join(dir, "strings.snap");
    const first = await migrant("run", stringsWasm, ...strings.args, "--checkpoint-after", "120", "--to", snap);
    expect(first.code).toBe(0);
    expect(first.stderr).toMatch(/checkpointed to .*strings\.snap/);
    const rest = await migrant("resume", snap);
    expect(rest.code).toBe(0);
    expect(lines(first.stdout).length).toBeLessThan(lines(whole.stdout).length);
    expect([...lines(first.stdout), ...lines(rest.stdout)]).toEqual(lines(whole.stdout));
  });

  it("moves a counting guest to another node name: every line once, in order, node() changes once", async () => {
    const snap = join(dir, "counter.snap");
    const first = await migrant("run", counterWasm, "6", "--node-name", "A", "--checkpoint-after", "250", "--to", snap);
    const rest = await migrant("resume", snap, "--node-name", "B");
    expect(rest.code).toBe(0);
    const all = [...lines(first.stdout), ...lines(rest.stdout)];
    expect(all.map((l) => l.split(" ")[0])).toEqual(["0", "1", "2", "3", "4", "5"]);
    const nodes = all.map((l) => l.split(" on ")[1]);
    const switchAt = nodes.indexOf("B");
    expect(switchAt).toBeGreaterThan(0);
    expect(nodes.slice(0, switchAt).every((n) => n === "A")).toBe(true);
    expect(nodes.slice(switchAt).every((n) => n === "B")).toBe(true);
  });

  it("refuses a damaged or truncated snapshot with a clear message", async () => {
    const snap = join(dir, "damaged.snap");
    await migrant("run", stringsWasm, ...strings.args, "--checkpoint-after", "100", "--to", snap);
    const good = readFileSync(snap);
    const flipped = Buffer.from(good);
    flipped[Math.floor(flipped.length / 2)] ^= 0x10;
    writeFileSync(snap, flipped);
    const r1 = await migrant("resume", snap);
    expect(r1.code).toBe(2);
    expect(r1.stderr).toMatch(/corrupted/);
    noStackTrace(r1);
    writeFileSync(snap, good.subarray(0, good.length - 1000));
    const r2 = await migrant("resume", snap);
    expect(r2.code).toBe(2);
    expect(r2.stderr).toMatch(/truncated|corrupted/);
    noStackTrace(r2);
  });

  it("keeps the process running when the snapshot cannot be written", async () => {
    const whole = await migrant("run", stringsWasm, ...strings.args);
    const r = await migrant("run", stringsWasm, ...strings.args, "--checkpoint-after", "100", "--to", join(dir, "no-such-dir", "x.snap"));
    expect(r.stderr).toMatch(/could not write the snapshot.*carries on/);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(whole.stdout);
  });

  it("wants --checkpoint-after and --to together", async () => {
    const r = await migrant("run", stringsWasm, "--to", join(dir, "x.snap"));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/go together/);
  });
});

describe("exit codes and traps", () => {
  it("passes arguments and the pid, and exits with main's return value or exit()'s code", async () => {
    const ok = await migrant("run", trapsWasm, "ok", "two", "--", "--three");
    expect(ok.code).toBe(3);
    expect(ok.stdout).toBe("pid local.1 args ok,two,--three\n");
    const ex = await migrant("run", trapsWasm, "exit");
    expect(ex.code).toBe(7);
    expect(ex.stdout).not.toMatch(/not reached/);
  });

  it.each([
    ["unreachable", /trap: unreachable/],
    ["oob", /trap: memory access out of bounds/],
    ["stack", /trap: call stack exhausted/],
    ["divzero", /trap: divide by zero/],
    ["abort", /abort: the guest gave up at .*traps\.ts/],
  ])("a guest that ends in %s: exit code 1 and a message naming the trap", async (how, message) => {
    const r = await migrant("run", trapsWasm, how);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(message);
    noStackTrace(r);
  });
});

describe("bad input", () => {
  it("refuses a file that is not WebAssembly, saying how to build one", async () => {
    const f = join(dir, "text.wasm");
    writeFileSync(f, "this is not wasm");
    const r = await migrant("run", f);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/not a WebAssembly module.*migrant build/);
    noStackTrace(r);
  });

  it("refuses a module not built by migrant build", async () => {
    const plain = await buildPlain(counter.file, { stderr: process.stderr });
    const f = join(dir, "plain.wasm");
    writeFileSync(f, plain.wasm);
    const r = await migrant("run", f);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/not built by migrant build.*migrant build prog\.ts/);
    noStackTrace(r);
  });

  it("refuses a module of another format version", async () => {
    const bytes = Buffer.from(readFileSync(counterWasm));
    const at = bytes.indexOf('"version":1,');
    expect(at).toBeGreaterThan(0);
    bytes.write('"version":7,', at);
    const f = join(dir, "v7.wasm");
    writeFileSync(f, bytes);
    const r = await migrant("run", f);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/format 7.*reads format 1.*rebuild/);
  });

  it("says so for a missing file", async () => {
    const r = await migrant("run", join(dir, "missing.wasm"));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no such file/);
  });

  it("shows asc's own compiler errors and exits non-zero", async () => {
    const r = await migrant("build", join(ROOT, "tests", "guests", "compile-error.ts"), "-o", join(dir, "bad.wasm"));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/TS2304: Cannot find name 'undefinedThing'/);
    noStackTrace(r);
  });

  it("rejects a malformed size", async () => {
    const r = await migrant("build", counter.file, "--max-memory", "lots");
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/not a size/);
  });
});

describe("build and run a .ts directly", () => {
  it("builds then runs, streaming output", async () => {
    const r = await migrant("run", counter.file, "2");
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("0 on local\n1 on local\n");
  });
});
