// The two ends of the link-floor measurement, each its own process (so that
// under --link each can run in its own network namespace, like the nodes):
//
//   node floor-probe.js serve HOST      listens on HOST, prints its ws:// URL,
//                                       echoes small messages, sinks uploads
//                                       and sends downloads on request
//   node floor-probe.js probe URL MiB   connects, measures, prints one JSON line
//
// What `probe` measures over one WebSocket, with the same `ws` options as the
// cluster's links: round trips of an 8-byte message (p50/p99), MiB sent up
// (client -> server, until the server says it has them all) and MiB sent down
// (server -> client, from the request to the last byte), in 1 MiB messages,
// each direction PASSES times on the one connection and the median kept: one
// cold pass of 64 MiB measured anything from 195 to 900 MB/s on this machine
// within an hour, and a ratio to it meant little.

import { WebSocketServer, WebSocket } from "ws";
import { percentile } from "./stats.js";
import { MiB } from "../host/text/size.js";
import { noMask } from "../host/net/link.js";

const CHUNK = MiB;
const PINGS = 2000;
const PASSES = 3;

export interface LinkFloor {
  rttP50Us: number;
  rttP99Us: number;
  upMBps: number;
  downMBps: number;
}

function serve(host: string): void {
  const server = new WebSocketServer({ host, port: 0, maxPayload: 2 * CHUNK });
  server.on("listening", () => {
    const a = server.address() as { port: number };
    process.stdout.write(`ws://${host}:${a.port}\n`);
  });
  server.on("connection", (ws) => {
    let sunk = 0;
    let want = 0;
    ws.on("message", (d: Buffer, binary: boolean) => {
      if (binary && d.length === 8) return ws.send(d); // a ping
      if (binary) {
        sunk += d.length;
        if (want && sunk >= want) ws.send("got");
        return;
      }
      const [cmd, n] = d.toString().split(" ");
      if (cmd === "expect") {
        want = Number(n);
        sunk = 0;
        ws.send("ready");
      } else if (cmd === "send") {
        const chunk = Buffer.alloc(CHUNK, 7);
        for (let sent = 0; sent < Number(n); sent += CHUNK) ws.send(chunk);
      }
    });
  });
  process.on("SIGTERM", () => process.exit(0));
}

async function probe(url: string, mib: number): Promise<LinkFloor> {
  // masked with a zero key, as a node's dialler masks (net/link.ts): a random mask costs a copy the nodes never pay
  const ws = new WebSocket(url, { maxPayload: 2 * CHUNK, generateMask: noMask });
  await new Promise((r, j) => {
    ws.once("open", r);
    ws.once("error", j);
  });
  const next = () => new Promise<Buffer>((r) => ws.once("message", (d: Buffer) => r(d)));
  const rtts: number[] = [];
  const ping = Buffer.alloc(8);
  for (let i = 0; i < PINGS; i++) {
    const t = performance.now();
    const got = next();
    ws.send(ping);
    await got;
    rtts.push((performance.now() - t) * 1000);
  }
  const bytes = mib * CHUNK;
  const chunk = Buffer.alloc(CHUNK, 9);
  const up = async () => {
    let got = next();
    ws.send(`expect ${bytes}`);
    await got;
    got = next();
    const t = performance.now();
    for (let sent = 0; sent < bytes; sent += CHUNK) ws.send(chunk);
    await got;
    return bytes / 1e6 / ((performance.now() - t) / 1000);
  };
  const down = async () => {
    let received = 0;
    let onData = (_: Buffer) => {};
    const all = new Promise<void>((r) => {
      onData = (d: Buffer) => {
        received += d.length;
        if (received >= bytes) r();
      };
      ws.on("message", onData);
    });
    const t = performance.now();
    ws.send(`send ${bytes}`);
    await all;
    ws.off("message", onData);
    return bytes / 1e6 / ((performance.now() - t) / 1000);
  };
  const ups: number[] = [];
  const downs: number[] = [];
  for (let i = 0; i < PASSES; i++) {
    ups.push(await up());
    downs.push(await down());
  }
  const upMBps = percentile(ups, 50);
  const downMBps = percentile(downs, 50);
  ws.close();
  return {
    rttP50Us: percentile(rtts, 50),
    rttP99Us: percentile(rtts, 99),
    upMBps,
    downMBps,
  };
}

const [cmd, a, b] = process.argv.slice(2);
if (cmd === "serve") serve(a);
else if (cmd === "probe") {
  probe(a, Number(b) || 64).then(
    (r) => {
      process.stdout.write(JSON.stringify(r) + "\n");
      process.exit(0);
    },
    (e: Error) => {
      process.stderr.write(`floor probe: ${e.message}\n`);
      process.exit(1);
    },
  );
}
