// The node's listening socket against strangers and over TLS, on real node
// processes: connections that never authenticate (idle, too many, sending a
// frame of 63 MiB) cost the node little and are dropped with their reason in
// the log; a TLS cluster (certificates made with the openssl CLI) joins,
// runs and migrates over wss://, and each way of getting TLS wrong says what
// to do; an IPv6 node advertises an address one can connect to.

import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import WebSocket from "ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { MigrationStats } from "../host/migration/options.js";
import { Connection } from "../host/client/connection.js";
import { encode } from "../host/net/protocol.js";
import { EXAMPLE_GUESTS, guestBytes } from "./guests.js";
import { background, eventually, migrant, rssOf, startNode, type RunningNode } from "./processes.js";
import { idle, sendFrame, upgraded } from "./strangers.js";

const dir = mkdtempSync(join(tmpdir(), "migrant-transport-"));
const secretFile = join(dir, "secret");
writeFileSync(secretFile, "correct horse battery staple\n");
const SECRET = { MIGRANT_SECRET_FILE: secretFile };
const secret = Buffer.from("correct horse battery staple");
const file = (name: string) => join(dir, name);
const started: RunningNode[] = [];
let counterWasm: string;

async function node(name: string, args: string[], env: Record<string, string> = {}): Promise<RunningNode> {
  const n = await startNode(name, ["--heartbeat", "200", ...args], { ...SECRET, ...env });
  started.push(n);
  return n;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const count = (n: RunningNode, pattern: RegExp) => n.output.filter((l) => pattern.test(l)).length;

/** A CA, a node certificate it signs (for 127.0.0.1, ::1 and localhost), and a second CA that signed nothing here. */
function makeCertificates(): void {
  const openssl = (...args: string[]) => execFileSync("openssl", args, { stdio: "pipe" });
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  openssl("req", "-x509", ...ec, "-keyout", file("ca.key"), "-out", file("ca.pem"), "-days", "2", "-subj", "/CN=migrant test CA");
  openssl("req", ...ec, "-keyout", file("node.key"), "-out", file("node.csr"), "-subj", "/CN=migrant node");
  writeFileSync(file("node.ext"), "subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost\n");
  openssl(
    "x509",
    "-req",
    "-in",
    file("node.csr"),
    "-CA",
    file("ca.pem"),
    "-CAkey",
    file("ca.key"),
    "-CAcreateserial",
    "-out",
    file("node.pem"),
    "-days",
    "2",
    "-extfile",
    file("node.ext"),
  );
  openssl("req", "-x509", ...ec, "-keyout", file("other.key"), "-out", file("other.pem"), "-days", "2", "-subj", "/CN=another CA");
}

beforeAll(async () => {
  try {
    makeCertificates();
  } catch (e) {
    throw new Error(`these tests make certificates with the openssl command (apt-get install openssl): ${(e as Error).message}`);
  }
  counterWasm = file("counter.wasm");
  writeFileSync(counterWasm, await guestBytes(EXAMPLE_GUESTS.find((g) => g.name === "counter")!));
});

afterAll(() => {
  for (const n of started) n.child.kill("SIGKILL");
});

describe("before authentication", () => {
  it("8 strangers each sending a 63 MiB frame: the node stays small, drops each, and serves ps", async () => {
    const P = await node("P", []);
    const pid = P.child.pid!;
    const before = rssOf(pid);
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, rssOf(pid))), 20);
    try {
      const strangers = await Promise.all(Array.from({ length: 8 }, () => upgraded(P.url)));
      const sent = await Promise.all(strangers.map((s) => sendFrame(s, 63)));
      await Promise.all(strangers.map((s) => s.closed));
      expect(
        sent.every((mib) => mib < 63),
        `MiB each socket took: ${sent}`,
      ).toBe(true);
    } finally {
      clearInterval(sampler);
    }
    const after = rssOf(pid);
    console.log(
      `node RSS: ${(before / 2 ** 20).toFixed(0)} MiB before, peak ${(peak / 2 ** 20).toFixed(0)}, after ${(after / 2 ** 20).toFixed(0)}`,
    );
    // less than one such frame: none of them was buffered; and it is back near where it was
    expect(peak - before).toBeLessThan(63 * 2 ** 20);
    expect(after - before).toBeLessThan(16 * 2 ** 20);
    await P.waitFor(/refused a connection: it sent more than 16 KiB before authenticating/);
    await eventually(async () => (count(P, /sent more than 16 KiB before authenticating/) === 8 ? true : undefined), 3000, "8 log lines");
    const ps = await migrant(["ps"], { ...SECRET, MIGRANT_NODE: P.url });
    expect(ps.code, ps.stderr).toBe(0);
  });

  it("more idle strangers than --max-pending: the extra ones are refused at once, the others dropped at the deadline, then a client is served", async () => {
    const Q = await node("Q", ["--max-pending", "4"]);
    const client = await Connection.open(Q.url, secret); // in before them: not counted, and served throughout
    const strangers = await Promise.all(Array.from({ length: 10 }, () => idle(Q.url)));
    await sleep(500);
    expect(strangers.filter((s) => s.isClosed).length).toBe(6);
    await Q.waitFor(/refused a connection: 4 connections are authenticating already \(--max-pending\)/);
    expect((await client.ps()).length).toBe(0);
    const refused = await migrant(["ps"], { ...SECRET, MIGRANT_NODE: Q.url });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/hung up before the handshake: it may be refusing connections/);
    const t0 = performance.now();
    await Promise.all(strangers.map((s) => s.closed));
    expect(performance.now() - t0).toBeLessThan(6000);
    expect(count(Q, /refused a connection: it did not authenticate within 5 s/)).toBe(4);
    const ps = await migrant(["ps"], { ...SECRET, MIGRANT_NODE: Q.url });
    expect(ps.code, ps.stderr).toBe(0);
    client.close();
  });

  it("--max-connections refuses one more connection at once, and takes it once one has gone", async () => {
    const R = await node("R", ["--max-connections", "2"]);
    const one = await Connection.open(R.url, secret);
    const two = await Connection.open(R.url, secret);
    const three = await Connection.open(R.url, secret).catch((e: Error) => e);
    expect(three).toBeInstanceOf(Error);
    expect((three as Error).message).toMatch(/hung up before the handshake/);
    await R.waitFor(/refused a connection: 2 are open already \(--max-connections\)/);
    one.close();
    const again = await eventually(() => Connection.open(R.url, secret).catch(() => undefined), 3000, "a free connection");
    expect(await again.ps()).toEqual([]);
    two.close();
    again.close();
  });

  it("logs each failed handshake once, with its own reason", async () => {
    const S = await node("S", []);
    const challenged = async () => {
      const ws = new WebSocket(S.url);
      ws.on("error", () => undefined);
      await new Promise((r) => ws.once("message", r));
      return ws;
    };
    const silent = await challenged(); // says nothing: the deadline
    (await challenged()).close(); // goes before authenticating
    (await challenged()).send("hello"); // a text frame instead of the auth message
    (await challenged()).send(encode({ t: "psRequest", req: 1 })); // a request before authenticating
    const wrong = file("wrong");
    writeFileSync(wrong, "not the secret\n");
    expect((await migrant(["ps"], { MIGRANT_SECRET_FILE: wrong, MIGRANT_NODE: S.url })).stderr).toMatch(/refused us: wrong cluster secret/);
    await new Promise((r) => silent.once("close", r));
    await S.waitFor(/did not authenticate/);
    const refusals = S.output.filter((l) => /refused a connection|a connection closed/.test(l));
    expect(refusals.length, refusals.join("\n")).toBe(5);
    expect(count(S, /refused a connection: it did not authenticate within 5 s \(from 127\.0\.0\.1:\d+\)/)).toBe(1);
    expect(count(S, /closed the connection before authenticating|a connection closed before authenticating/)).toBe(1);
    expect(count(S, /refused a connection: it broke the handshake \(.*text frame/)).toBe(1);
    expect(count(S, /refused a connection: it broke the handshake \(expected auth, got psRequest\)/)).toBe(1);
    expect(count(S, /refused a connection: wrong cluster secret \(client "client-\d+" from 127\.0\.0\.1:\d+\)/), refusals.join("\n")).toBe(
      1,
    );
  });
});

describe("TLS", () => {
  let T: RunningNode, U: RunningNode;
  const TLS = () => ["--tls-cert", file("node.pem"), "--tls-key", file("node.key"), "--ca", file("ca.pem")];
  const over = (n: RunningNode) => ({ ...SECRET, MIGRANT_NODE: n.url, MIGRANT_CA: file("ca.pem") });

  beforeAll(async () => {
    T = await node("T", TLS());
    U = await node("U", ["--join", T.url, ...TLS()]);
  });

  it("two TLS nodes join over wss://; a client runs, lists and migrates over wss://, the output as if unmoved", async () => {
    expect(T.url).toMatch(/^wss:\/\/127\.0\.0\.1:\d+$/);
    expect(U.url).toMatch(/^wss:\/\//);
    const nodes = await eventually(async () => {
      const r = await migrant(["nodes", "--json", "--ca", file("ca.pem")], { ...SECRET, MIGRANT_NODE: U.url });
      const list = r.code === 0 ? (JSON.parse(r.stdout) as Array<{ name: string; url: string; state: string }>) : [];
      return list.filter((n) => n.state === "up").length === 2 ? list : undefined;
    });
    expect(nodes.map((n) => n.url).sort()).toEqual([T.url, U.url].sort());
    const run = background(["run", counterWasm, "12"], over(T));
    await run.firstLine;
    const ps = await migrant(["ps", "--json"], over(T));
    expect(ps.code, ps.stderr).toBe(0);
    const pid = (JSON.parse(ps.stdout) as Array<{ pid: string }>)[0].pid;
    const moved = await migrant(["migrate", pid, "--to", "U", "--json"], over(T));
    expect(moved.code, moved.stderr).toBe(0);
    expect((JSON.parse(moved.stdout) as MigrationStats).result).toBe("completed");
    const end = await run.done;
    expect(end.code, end.stderr).toBe(0);
    const unmoved = Array.from({ length: 12 }, (_, i) => `${i}`).join("\n") + "\n";
    expect(end.stdout.replace(/ on [A-Z]$/gm, "")).toBe(unmoved);
    expect(end.stdout).toMatch(/ on T\n[\s\S]* on U\n$/);
  });

  it("a plain ws:// client is told the node speaks TLS; a client without the CA, that the certificate is not trusted", async () => {
    const plain = await migrant(["ps"], { ...SECRET, MIGRANT_NODE: T.url.replace("wss:", "ws:") });
    expect(plain.code).toBe(2);
    expect(plain.stderr).toMatch(
      /the node at ws:\/\/127\.0\.0\.1:\d+ speaks TLS only: connect to wss:\/\/127\.0\.0\.1:\d+ \(with --ca FILE/,
    );
    await T.waitFor(/refused a connection: it spoke plain ws:\/\/ \(or HTTP\) to this TLS node/);
    const noCa = await migrant(["ps"], { ...SECRET, MIGRANT_NODE: T.url });
    expect(noCa.code).toBe(2);
    expect(noCa.stderr).toMatch(
      /the certificate of the node at wss:\S+ is not signed by a CA this machine trusts .*give the cluster's CA with --ca FILE/,
    );
    const otherCa = await migrant(["ps", "--ca", file("other.pem")], { ...SECRET, MIGRANT_NODE: T.url });
    expect(otherCa.stderr).toMatch(/is not signed by the CA in --ca .*other\.pem/);
    const byName = await migrant(["ps", "--node", T.url.replace("127.0.0.1", "localhost")], over(T));
    expect(byName.code, byName.stderr).toBe(0);
    const plainNode = await node("V", []);
    const tlsToPlain = await migrant(["ps"], { ...over(T), MIGRANT_NODE: plainNode.url.replace("ws:", "wss:") });
    expect(tlsToPlain.stderr).toMatch(/does not speak TLS \(started without --tls-cert\?\): connect to ws:\/\//);
  });

  it("strangers over TLS are bounded the same: a big frame is dropped after 16 KiB, one idle after its TLS handshake at the deadline", async () => {
    const ca = readFileSync(file("ca.pem"));
    const [quiet, loud] = await Promise.all([idle(T.url, ca), upgraded(T.url, ca)]);
    const t0 = performance.now();
    expect(await sendFrame(loud, 63)).toBeLessThan(63);
    await loud.closed;
    await T.waitFor(/refused a connection: it sent more than 16 KiB before authenticating/);
    await quiet.closed;
    expect(performance.now() - t0).toBeGreaterThan(4000);
    await T.waitFor(/refused a connection: it did not authenticate within 5 s/);
  });

  it("a node refuses to start on a certificate or key it cannot use, saying which file is wrong", async () => {
    const start = (args: string[]) => migrant(["node", "--name", "W", "--port", "0", ...args], SECRET, 10_000);
    const missing = await start(["--tls-cert", file("nope.pem"), "--tls-key", file("node.key")]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/cannot read --tls-cert .*nope\.pem: ENOENT/);
    const mismatched = await start(["--tls-cert", file("node.pem"), "--tls-key", file("other.key")]);
    expect(mismatched.stderr).toMatch(/the key in --tls-key .*other\.key does not match the certificate in --tls-cert .*node\.pem/);
    const swapped = await start(["--tls-cert", file("node.key"), "--tls-key", file("node.pem")]);
    expect(swapped.stderr).toMatch(/--tls-cert .*node\.key holds no PEM certificate/);
    const half = await start(["--tls-cert", file("node.pem")]);
    expect(half.stderr).toMatch(/--tls-cert and --tls-key go together/);
    const badCa = await migrant(["ps", "--ca", file("node.key")], over(T));
    expect(badCa.stderr).toMatch(/--ca .*node\.key holds no PEM certificate/);
  });

  it("a node without TLS on a non-loopback address warns once that its traffic is unencrypted", async () => {
    const X = await node("X", ["--host", "0.0.0.0"]);
    expect(count(X, /warning: no TLS: .* unencrypted; give --tls-cert and --tls-key/)).toBe(1);
    expect(started.filter((n) => n.name === "P" || n.name === "T").every((n) => count(n, /unencrypted/) === 0)).toBe(true);
  });
});

async function canBindIPv6(): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once("error", () => resolve(false));
    s.listen(0, "::1", () => s.close(() => resolve(true)));
  });
}

describe("IPv6", () => {
  it("a node on ::1 advertises ws://[::1]:PORT, which a client and a joining node can use", async (ctx) => {
    if (!(await canBindIPv6())) return ctx.skip("this machine cannot bind ::1 (no IPv6 loopback)");
    const Y = await node("Y", ["--host", "::1"]);
    expect(Y.url).toMatch(/^ws:\/\/\[::1\]:\d+$/);
    const Z = await node("Z", ["--host", "::1", "--join", Y.url]);
    const r = await eventually(async () => {
      const n = await migrant(["nodes", "--json"], { ...SECRET, MIGRANT_NODE: Y.url });
      return n.code === 0 && (JSON.parse(n.stdout) as unknown[]).length === 2 ? n : undefined;
    });
    expect(
      JSON.parse(r.stdout)
        .map((n: { url: string }) => n.url)
        .sort(),
    ).toEqual([Y.url, Z.url].sort());
    const bad = await migrant(["ps"], { ...SECRET, MIGRANT_NODE: "ws://::1:7001" });
    expect(bad.stderr).toMatch(/an IPv6 address goes in brackets: ws:\/\/\[::1\]:7001/);
  });
});
