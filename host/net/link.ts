// A link: one WebSocket carrying protocol frames (protocol.ts), from either
// end. It decodes every binary frame; a frame that does not decode (or a text
// frame) is a protocol violation of that peer: the link reports it and closes
// with code 1002, and nothing else is touched.
//
// connect() and accept() run the authentication handshake (auth.ts) and hand
// back a link that is ready for messages. connect() dials ws:// or wss://
// (checking the node's certificate: tls.ts) and says in words why it could
// not; accept() says why it refused (for the node's log).

import { EventEmitter } from "node:events";
import WebSocket from "ws";
import { decode, encode, ProtocolError, type Message, type MessageOf, type MessageType } from "./protocol.js";
import { nonce, prove, verify, type Role } from "./auth.js";
import { MigrantError } from "../errors.js";
import { MiB } from "../text/size.js";
import type { BufferPool } from "./buffer-pool.js";
import { tlsFailure, type TrustedCa } from "./tls.js";

/** A node could not be reached, or refused us. */
export class LinkError extends MigrantError {}

export const CLOSE_PROTOCOL = 1002;
export const CLOSE_AUTH = 4001;
export const CLOSE_LEAVING = 4002;
/** a client that read none of a process's output for too long (cluster/output-flow.ts) */
export const CLOSE_SLOW_READER = 4003;
const HANDSHAKE_MS = 5000;
/** The largest frame a link takes unless told otherwise (`migrant node --max-frame`). */
export const DEFAULT_MAX_FRAME = 64 * MiB;
/** How much a bulk sender lets wait in the socket's buffer before it waits itself. */
const DRAIN_BYTES = 4 * MiB;

/**
 * What the node's parts use of a link: its peer, whether it is open, sending,
 * closing, and its messages and end. A test can stand in for it.
 */
export interface MessageLink {
  peer: string;
  readonly open: boolean;
  /** bytes sent but not yet written to the socket (a peer that reads slowly makes it grow) */
  readonly buffered: number;
  /** `pool`: the frame's buffer comes from it and goes back once the socket has written it (bulk data) */
  send(m: Message, pool?: BufferPool): void;
  close(code?: number, reason?: string): void;
  /** waits until less than `limit` bytes wait to be sent (backpressure for bulk data), at most `ms`; whether it drained */
  drain(limit?: number, ms?: number): Promise<boolean>;
  on(event: "message", f: (m: Message) => void): this;
  on(event: "close", f: (code: number, reason: string) => void): this;
}

export class Link extends EventEmitter implements MessageLink {
  /** the name the peer gave (node name, or a client's) */
  peer = "?";
  role: "node" | "client" = "client";
  private closed = false;

  constructor(
    readonly ws: WebSocket,
    readonly maxFrame: number,
  ) {
    super();
    ws.binaryType = "nodebuffer";
    ws.on("message", (data, isBinary) => this.receive(data as Buffer, isBinary));
    ws.on("close", (code, reason) => {
      this.closed = true;
      this.written(); // a sender waiting to drain goes on, and finds the link closed
      this.emit("close", code, reason.toString());
    });
    ws.on("error", (e) => this.emit("failure", e));
  }

  get open(): boolean {
    return !this.closed && this.ws.readyState === WebSocket.OPEN;
  }

  get buffered(): number {
    return this.ws.bufferedAmount;
  }

  send(m: Message, pool?: BufferPool): void {
    if (!this.open) return;
    if (!pool) return this.ws.send(encode(m), this.written);
    const frame = encode(m, pool.take);
    this.ws.send(frame, () => {
      pool.give(frame);
      this.written();
    });
  }

  /** Who waits in drain(), for the send buffer to fall to what limit. */
  private readonly drainers = new Set<{ limit: number; done(drained: boolean): void }>();

  /** A frame went to the socket: wake whoever waits for the buffer to have fallen this far (or the link to have closed). */
  private readonly written = (): void => {
    for (const d of this.drainers) if (!this.open || this.ws.bufferedAmount <= d.limit) d.done(true);
  };

  /**
   * Waits until the socket's send buffer is at most `limit` bytes (or the
   * link closed), at most `ms`: backpressure for bulk data. Woken as each
   * frame is written out (ws's send callback), not by polling; whether it
   * drained in time.
   */
  drain(limit = DRAIN_BYTES, ms = Infinity): Promise<boolean> {
    if (!this.open || this.ws.bufferedAmount <= limit) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = Number.isFinite(ms) ? setTimeout(() => d.done(false), ms) : null;
      const d = {
        limit,
        done: (drained: boolean) => {
          if (timer) clearTimeout(timer);
          this.drainers.delete(d);
          resolve(drained);
        },
      };
      this.drainers.add(d);
    });
  }

  /** Stops reading from the peer (TCP then holds it back), until resume(). */
  pause(): void {
    this.ws.pause();
  }

  resume(): void {
    this.ws.resume();
  }

  close(code = 1000, reason = ""): void {
    if (this.closed) return;
    this.closed = true;
    this.ws.close(code, closeReason(reason));
  }

  /** The next message of one of the given types (others before it are a protocol error). */
  next<T extends MessageType>(types: T[], timeoutMs = HANDSHAKE_MS): Promise<MessageOf<T>> {
    return new Promise((resolve, reject) => {
      const done = (f: () => void) => {
        clearTimeout(timer);
        this.off("message", onMessage);
        this.off("close", onClose);
        f();
      };
      const onMessage = (m: Message) =>
        done(() =>
          (types as string[]).includes(m.t)
            ? resolve(m as MessageOf<T>)
            : reject(new ProtocolError("type", `expected ${types.join(" or ")}, got ${m.t}`)),
        );
      const onClose = (code: number, reason: string) =>
        done(() => reject(new LinkError(`the link closed${reason ? `: ${reason}` : ` (code ${code})`}`)));
      const timer = setTimeout(() => done(() => reject(new LinkError(`no ${types.join("/")} within ${timeoutMs} ms`))), timeoutMs);
      this.on("message", onMessage);
      this.on("close", onClose);
    });
  }

  private receive(data: Buffer, isBinary: boolean): void {
    let m: Message;
    try {
      if (!isBinary) throw new ProtocolError("type", "text frame on a binary protocol");
      m = decode(data, this.maxFrame);
    } catch (e) {
      const err = e instanceof ProtocolError ? e : new ProtocolError("field", (e as Error).message);
      this.emit("violation", err);
      this.close(CLOSE_PROTOCOL, `protocol error: ${err.message}`);
      return;
    }
    this.emit("message", m);
  }
}

/** What connect() needs: the secret, who we are, and for wss:// the CA to check the node's certificate with. */
export interface ConnectOptions {
  secret: Buffer;
  role: "node" | "client";
  name: string;
  maxFrame?: number;
  /** the CA that signs the node's certificate (wss://); without it, the CAs this machine trusts */
  ca?: TrustedCa;
}

/** The header of a TLS node's answer to a plain ws:// connection (server.ts), so that the client can say what to do. */
export const TLS_ONLY_HEADER = "x-migrant-tls";

/** The url, checked: ws://HOST:PORT or wss://HOST:PORT. */
function nodeUrl(url: string): URL {
  let u: URL | null = null;
  try {
    u = new URL(url);
  } catch {
    // said below
  }
  if (u && (u.protocol === "ws:" || u.protocol === "wss:")) return u;
  const v6 = /^wss?:\/\/[^[/]*:[^/]*:/.test(url) ? "; an IPv6 address goes in brackets: ws://[::1]:7001" : "";
  throw new LinkError(`"${url}" is not a node address (expected ws://HOST:PORT, or wss://HOST:PORT for a node with TLS${v6})`);
}

/** Why the connection to `url` did not open, in words. */
function reachFailure(e: NodeJS.ErrnoException, url: string, ca: TrustedCa | undefined): string {
  const tls = tlsFailure(e, url, ca);
  if (tls) return tls;
  if (e.code === "ECONNRESET" || /socket hang up/.test(e.message))
    return `the node at ${url} hung up before the handshake: it may be refusing connections (too many at once: its log says), or not be a migrant node`;
  return `cannot reach a node at ${url}: ${e.code ?? e.message} (is \`migrant node\` running there?)`;
}

/** A close frame's reason: at most 123 UTF-8 bytes (ws throws on more), cut at a character. */
export function closeReason(reason: string): string {
  let out = reason;
  while (Buffer.byteLength(out) > 123) out = out.slice(0, -1);
  return out.replace(/[\uD800-\uDBFF]$/, "");
}

/**
 * The dialler's masking key: zero, so that ws sends each frame as it is
 * instead of copying it to mask it (ws skips an all-zero mask). Masking guards
 * browsers' untrusted scripts against confused proxies; every dialler here is
 * migrant's own code, and a page batch is then not copied once more.
 */
export const noMask = (mask: Buffer) => void mask.fill(0);

/** Opens a link to a node and authenticates as `role`. */
export async function connect(url: string, o: ConnectOptions): Promise<Link> {
  const maxFrame = o.maxFrame ?? DEFAULT_MAX_FRAME;
  const tls = nodeUrl(url).protocol === "wss:";
  let ws: WebSocket;
  try {
    ws = new WebSocket(url, {
      maxPayload: maxFrame,
      handshakeTimeout: HANDSHAKE_MS,
      generateMask: noMask,
      ...(tls && o.ca ? { ca: o.ca.pem } : {}),
    });
  } catch (e) {
    throw new LinkError(`"${url}" is not a node address: ${(e as Error).message}`);
  }
  const link = new Link(ws, maxFrame);
  const challenge = link.next(["challenge"]);
  challenge.catch(() => undefined);
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("unexpected-response", (_req, res) => {
      ws.terminate();
      reject(
        new LinkError(
          res.headers[TLS_ONLY_HEADER]
            ? `the node at ${url} speaks TLS only: connect to ${url.replace(/^ws:/, "wss:")} ` +
                `(with --ca FILE, or $MIGRANT_CA, when a CA this machine does not trust signed its certificate)`
            : `${url} answered HTTP ${res.statusCode}, not a WebSocket upgrade: is it a migrant node?`,
        ),
      );
    });
    ws.once("error", (e: NodeJS.ErrnoException) => reject(new LinkError(reachFailure(e, url, o.ca))));
  });
  const c = await challenge;
  const mine = nonce();
  link.send({ t: "auth", role: o.role, name: o.name, proof: prove(o.secret, c.nonce, o.role), nonce: mine });
  const reply = await link.next(["welcome", "refused"]);
  if (reply.t === "refused") {
    link.close();
    throw new LinkError(`node ${c.node} at ${url} refused us: ${reply.reason}`);
  }
  if (!verify(o.secret, mine, "server", reply.proof)) {
    link.close(CLOSE_AUTH, "wrong cluster secret");
    throw new LinkError(`node ${c.node} at ${url} does not know our cluster secret (check --secret-file)`);
  }
  link.peer = c.node;
  link.role = "node";
  return link;
}

/** Why accept() did not let a connection in, for the node's log. */
export interface Refusal {
  refused: string;
  /** who it said it was, when it got that far: client "client-123" */
  peer?: string;
}

/** Server side of the handshake. Resolves with the authenticated link, or why it was refused (and closed). */
export async function accept(link: Link, o: { secret: Buffer; node: string }): Promise<Link | Refusal> {
  const n = nonce();
  link.send({ t: "challenge", node: o.node, nonce: n });
  let auth: MessageOf<"auth">;
  try {
    auth = await link.next(["auth"]);
  } catch (e) {
    const why =
      e instanceof ProtocolError
        ? `it broke the handshake (${e.message})`
        : link.open
          ? `it did not authenticate within ${HANDSHAKE_MS / 1000} s`
          : "it closed the connection before authenticating";
    link.close(CLOSE_AUTH, (e as Error).message);
    return { refused: why };
  }
  const role = auth.role as Role;
  if (role !== "node" && role !== "client") {
    link.send({ t: "refused", reason: "unknown role" });
    link.close(CLOSE_AUTH, "unknown role");
    return { refused: `it gave an unknown role ${JSON.stringify(String(auth.role).slice(0, 20))}` };
  }
  if (!verify(o.secret, n, role, auth.proof)) {
    link.send({ t: "refused", reason: "wrong cluster secret" });
    link.close(CLOSE_AUTH, "wrong cluster secret");
    return { refused: "wrong cluster secret", peer: `${role} ${JSON.stringify(auth.name.slice(0, 40))}` };
  }
  link.peer = auth.name;
  link.role = role;
  link.send({ t: "welcome", node: o.node, proof: prove(o.secret, auth.nonce, "server") });
  return link;
}
