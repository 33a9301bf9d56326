// A link: one WebSocket carrying protocol frames (protocol.ts), from either
// end. It decodes every binary frame; a frame that does not decode (or a text
// frame) is a protocol violation of that peer: the link reports it and closes
// with code 1002, and nothing else is touched.
//
// connect() and accept() run the authentication handshake (auth.ts) and hand
// back a link that is ready for messages.

import { EventEmitter } from "node:events";
import WebSocket from "ws";
import { decode, encode, ProtocolError, type Message, type MessageOf, type MessageType } from "./protocol.js";
import { nonce, prove, verify, type Role } from "./auth.js";
import { MigrantError } from "../errors.js";
import { MiB } from "../text/size.js";

/** A node could not be reached, or refused us. */
export class LinkError extends MigrantError {}

export const CLOSE_PROTOCOL = 1002;
export const CLOSE_AUTH = 4001;
export const CLOSE_LEAVING = 4002;
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
  send(m: Message): void;
  close(code?: number, reason?: string): void;
  /** waits until less than `limit` bytes wait to be sent (backpressure for bulk data) */
  drain(limit?: number): Promise<void>;
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
      this.emit("close", code, reason.toString());
    });
    ws.on("error", (e) => this.emit("failure", e));
  }

  get open(): boolean {
    return !this.closed && this.ws.readyState === WebSocket.OPEN;
  }

  send(m: Message): void {
    if (this.open) this.ws.send(encode(m));
  }

  /** Waits until the socket's send buffer is below `limit` bytes (or the link closed): backpressure for bulk data. */
  async drain(limit = DRAIN_BYTES): Promise<void> {
    while (this.open && this.ws.bufferedAmount > limit) await new Promise((r) => setTimeout(r, 1));
  }

  close(code = 1000, reason = ""): void {
    if (this.closed) return;
    this.closed = true;
    this.ws.close(code, reason.slice(0, 120));
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

/** Opens a link to a node and authenticates as `role`. */
export async function connect(url: string, o: { secret: Buffer; role: "node" | "client"; name: string; maxFrame?: number }): Promise<Link> {
  const maxFrame = o.maxFrame ?? DEFAULT_MAX_FRAME;
  let ws: WebSocket;
  try {
    ws = new WebSocket(url, { maxPayload: maxFrame, handshakeTimeout: HANDSHAKE_MS });
  } catch {
    throw new LinkError(`"${url}" is not a node address (expected ws://HOST:PORT)`);
  }
  const link = new Link(ws, maxFrame);
  const challenge = link.next(["challenge"]);
  challenge.catch(() => undefined);
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", (e: NodeJS.ErrnoException) =>
      reject(new LinkError(`cannot reach a node at ${url}: ${e.code ?? e.message} (is \`migrant node\` running there?)`)),
    );
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

/** Server side of the handshake. Resolves with the authenticated link, or null (refused and closed). */
export async function accept(link: Link, o: { secret: Buffer; node: string }): Promise<Link | null> {
  const n = nonce();
  link.send({ t: "challenge", node: o.node, nonce: n });
  let auth: MessageOf<"auth">;
  try {
    auth = await link.next(["auth"]);
  } catch (e) {
    link.close(CLOSE_AUTH, (e as Error).message);
    return null;
  }
  const role = auth.role as Role;
  if ((role !== "node" && role !== "client") || !verify(o.secret, n, role, auth.proof)) {
    link.send({ t: "refused", reason: "wrong cluster secret" });
    link.close(CLOSE_AUTH, "wrong cluster secret");
    return null;
  }
  link.peer = auth.name;
  link.role = role;
  link.send({ t: "welcome", node: o.node, proof: prove(o.secret, auth.nonce, "server") });
  return link;
}
