// Connections to a node that never authenticate, made by hand on a TCP socket
// (no WebSocket library in between, so that the test controls every byte): an
// idle one, one that does the WebSocket upgrade and then sends a frame of any
// size the node has not agreed to.

import { connect, type Socket } from "node:net";
import { connect as connectTls } from "node:tls";

export interface Stranger {
  socket: Socket;
  /** resolves when the node closed (or reset) the connection */
  closed: Promise<void>;
  readonly isClosed: boolean;
}

/** A TCP connection to `url`'s port that sends nothing (for wss://, nothing after the TLS handshake, which checks the node with `ca`). */
export async function idle(url: string, ca?: Buffer): Promise<Stranger> {
  const u = new URL(url);
  const host = u.hostname.replace(/^\[|\]$/g, "");
  const tls = u.protocol === "wss:";
  const socket = tls ? connectTls({ host, port: Number(u.port), ca }) : connect(Number(u.port), host);
  socket.on("error", () => undefined);
  let isClosed = false;
  const closed = new Promise<void>((r) =>
    socket.once("close", () => {
      isClosed = true;
      r();
    }),
  );
  await new Promise<void>((r) => {
    socket.once(tls ? "secureConnect" : "connect", () => r());
    socket.once("close", () => r());
  });
  return {
    socket,
    closed,
    get isClosed() {
      return isClosed;
    },
  };
}

/** A connection that did the WebSocket upgrade (the node's challenge is left unread). */
export async function upgraded(url: string, ca?: Buffer): Promise<Stranger> {
  const s = await idle(url, ca);
  s.socket.write(
    "GET / HTTP/1.1\r\nHost: node\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
  );
  let head = "";
  await new Promise<void>((resolve, reject) => {
    const onData = (d: Buffer) => {
      head += d.toString("latin1");
      if (!head.includes("\r\n\r\n")) return;
      s.socket.off("data", onData);
      if (head.startsWith("HTTP/1.1 101")) resolve();
      else reject(new Error(`no upgrade: ${head.split("\r\n")[0]}`));
    };
    s.socket.on("data", onData);
    void s.closed.then(() => reject(new Error("closed before the upgrade")));
  });
  s.socket.resume(); // what the node sends next (its challenge) is read and dropped
  return s;
}

const CHUNK = Buffer.alloc(1 << 20);

/**
 * Sends the header of one binary frame of `mib` MiB (masked with a zero mask,
 * so the payload is plain zeros) and then its payload, a MiB at a time, until
 * all of it is sent or the node closed the connection. Resolves with the MiB
 * the socket took (most of them may have stayed in kernel buffers).
 */
export async function sendFrame(s: Stranger, mib: number): Promise<number> {
  const header = Buffer.alloc(14);
  header[0] = 0x82; // FIN, binary
  header[1] = 0x80 | 127; // masked, 64-bit length
  header.writeBigUInt64BE(BigInt(mib) << 20n, 2);
  s.socket.write(header);
  let sent = 0;
  for (let i = 0; i < mib && !s.isClosed; i++) {
    if (!s.socket.write(CHUNK))
      await new Promise<void>((r) => {
        const done = () => {
          s.socket.off("drain", done);
          r();
        };
        s.socket.on("drain", done);
        void s.closed.then(done);
      });
    sent++;
  }
  return sent;
}
