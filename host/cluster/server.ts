// The node's listening socket. Every connection authenticates first
// (net/link.ts: the HMAC challenge of net/auth.ts) as a node or a client, and
// is then handed to the node: node links to the membership (peers.ts), client
// links to the client requests. A connection that fails the handshake is
// refused and closed; a frame that does not decode closes that one link.
//
// The TCP listener is ours (not the HTTP server's), so that every connection
// is counted from its first byte: net/admission.ts bounds what strangers can
// cost (how many at once, how long, how many bytes) until they authenticate,
// and the listener's maxConnections bounds them all. Each connection is then
// handed to an HTTP server (HTTPS with --tls-cert: wss://), whose WebSocket
// upgrades go to ws. A TLS node reads the first byte of each connection: one
// that does not open a TLS handshake gets a plain HTTP answer saying the node
// speaks wss:// (the client turns it into a clear error) and is closed.

import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { createServer as createTcpServer, isIPv6, type Server, type Socket } from "node:net";
import { WebSocketServer, type WebSocket } from "ws";
import { accept, Link, TLS_ONLY_HEADER } from "../net/link.js";
import { addressOf, Admission, AUTH_DEADLINE_MS, type Arrival } from "../net/admission.js";
import { RefusalLog } from "../net/refusal-log.js";
import { nameWarning, type TlsIdentity } from "../net/tls.js";
import { LOOPBACK } from "../net/auth.js";
import { MigrantError } from "../errors.js";

export interface ServerOptions {
  name: string;
  host: string;
  port: number;
  secret: Buffer;
  maxFrame: number;
  /** serve wss:// with this certificate (without: ws://) */
  tls?: TlsIdentity;
  /** most connections authenticating at once */
  maxPending: number;
  /** most connections at once, authenticated or not */
  maxConnections: number;
  event: (line: string) => void;
}

/** The first byte of a TLS connection (a handshake record). */
const TLS_HANDSHAKE = 0x16;

/** What a TLS node answers a plain connection. */
const TLS_ONLY_ANSWER =
  "HTTP/1.1 400 Bad Request\r\n" +
  `${TLS_ONLY_HEADER}: required\r\nConnection: close\r\nContent-Type: text/plain\r\n\r\n` +
  "this migrant node speaks TLS: connect to wss://HOST:PORT (with --ca FILE)\n";

export class NodeServer {
  private front: Server | null = null;
  private admission: Admission | null = null;

  constructor(
    private readonly o: ServerOptions,
    private readonly onLink: (link: Link) => void,
  ) {}

  /** Listens; resolves with the node's address. */
  async listen(): Promise<string> {
    const o = this.o;
    const log = new RefusalLog(o.event);
    const admission = new Admission({ maxPending: o.maxPending, deadlineMs: AUTH_DEADLINE_MS, tls: !!o.tls, log });
    this.admission = admission;
    const web = this.webServer(admission);
    const front = createTcpServer((raw) => this.arrive(raw, admission, web));
    front.maxConnections = o.maxConnections;
    front.on(
      "drop",
      (d) => d && log.line(`refused a connection: ${o.maxConnections} are open already (--max-connections) (from ${addressOf(d)})`),
    );
    this.front = front;
    await new Promise<void>((resolve, reject) => {
      front.once("listening", () => resolve());
      front.once("error", (e: NodeJS.ErrnoException) =>
        reject(new MigrantError(`node ${o.name} cannot listen on ${o.host}:${o.port}: ${e.code ?? e.message}`)),
      );
      front.listen(o.port, o.host);
    });
    front.on("error", (e) => o.event(`server error: ${e.message}`));
    if (o.tls) {
      const warning = nameWarning(o.tls, o.host);
      if (warning) o.event(`warning: ${warning}`);
    } else if (!LOOPBACK.test(o.host)) {
      o.event(
        `warning: no TLS: what goes between this node and the others (programs, memory, messages) is unencrypted; give --tls-cert and --tls-key`,
      );
    }
    const host = isIPv6(o.host) ? `[${o.host}]` : o.host;
    return `${o.tls ? "wss" : "ws"}://${host}:${(front.address() as { port: number }).port}`;
  }

  close(): Promise<void> {
    this.admission?.dropAll();
    return new Promise<void>((r) => (this.front ? this.front.close(() => r()) : r()));
  }

  /** A new TCP connection: admitted (or destroyed), then to the HTTP(S) server; a TLS node first checks it opens with TLS. */
  private arrive(raw: Socket, admission: Admission, web: { emit(event: "connection", s: Socket): boolean }): void {
    const a = admission.arrive(raw);
    if (!a) return;
    if (!this.o.tls) return void web.emit("connection", raw);
    raw.once("data", (first: Buffer) => {
      raw.pause();
      raw.unshift(first);
      if (first[0] === TLS_HANDSHAKE) return void web.emit("connection", raw);
      a.fail("it spoke plain ws:// (or HTTP) to this TLS node");
      raw.end(TLS_ONLY_ANSWER);
    });
  }

  /** The HTTP(S) server the admitted connections go to: WebSocket upgrades to ws, anything else refused. */
  private webServer(admission: Admission) {
    const o = this.o;
    const web = o.tls ? createHttpsServer({ cert: o.tls.cert, key: o.tls.key }) : createHttpServer();
    const wss = new WebSocketServer({ noServer: true, maxPayload: o.maxFrame, clientTracking: false });
    const fail = (socket: Socket, reason: string) => {
      admission.of(socket)?.fail(reason, { drop: true });
      socket.destroy();
    };
    web.on("secureConnection", (s: Socket) => {
      const a = admission.of(s);
      if (a) a.phase = "http";
    });
    web.on("clientError", (e: NodeJS.ErrnoException & { rawPacket?: Buffer }, socket: Socket) => {
      const tls = e.rawPacket?.[0] === TLS_HANDSHAKE;
      admission.of(socket)?.fail(tls ? "it spoke TLS (wss://) to this node without TLS" : `a bad HTTP request (${e.code ?? e.message})`);
      // an HTTP answer (a TLS client reads it as "not TLS"); the deadline destroys what does not close
      if (socket.writable) socket.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n");
      else socket.destroy();
    });
    wss.on("wsClientError", (e: Error, socket: Socket) => fail(socket, `a bad WebSocket upgrade (${e.message})`));
    web.on("request", (req: IncomingMessage, res: ServerResponse) => {
      admission.of(req.socket)?.fail("an HTTP request that is not a WebSocket upgrade");
      res.writeHead(426, { "content-type": "text/plain", connection: "close" });
      res.end("this is a migrant node: talk to it with migrant (--node ws://HOST:PORT)\n");
    });
    web.on("upgrade", (req: IncomingMessage, socket: Socket, head: Buffer) => {
      const a = admission.of(socket);
      if (!a) return void socket.destroy();
      a.upgraded(socket, head.length);
      wss.handleUpgrade(req, socket, head, (ws) => void this.connection(ws, a));
    });
    return web;
  }

  private async connection(ws: WebSocket, a: Arrival): Promise<void> {
    const raw = new Link(ws, this.o.maxFrame);
    raw.on("violation", (e: Error) =>
      a.admitted ? this.o.event(`link from ${raw.peer}: ${e.message}; closed that link`) : a.fail(`it broke the handshake (${e.message})`),
    );
    raw.on("failure", () => undefined);
    const link = await accept(raw, { secret: this.o.secret, node: this.o.name });
    if (!(link instanceof Link)) return a.fail(link.refused, { peer: link.peer });
    a.admit();
    this.onLink(link);
  }
}
