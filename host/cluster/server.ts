// The node's listening socket. Every connection authenticates first
// (net/link.ts: the HMAC challenge of net/auth.ts) as a node or a client, and
// is then handed to the node: node links to the membership (peers.ts), client
// links to the client requests. A connection that fails the handshake is
// refused and closed; a frame that does not decode closes that one link.

import { WebSocketServer, type WebSocket } from "ws";
import { accept, Link } from "../net/link.js";
import { MigrantError } from "../errors.js";

export interface ServerOptions {
  name: string;
  host: string;
  port: number;
  secret: Buffer;
  maxFrame: number;
  event: (line: string) => void;
}

export class NodeServer {
  private server: WebSocketServer | null = null;

  constructor(
    private readonly o: ServerOptions,
    private readonly onLink: (link: Link) => void,
  ) {}

  /** Listens; resolves with the node's address. */
  async listen(): Promise<string> {
    const o = this.o;
    const server = new WebSocketServer({ host: o.host, port: o.port, maxPayload: o.maxFrame });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once("listening", () => resolve());
      server.once("error", (e: NodeJS.ErrnoException) =>
        reject(new MigrantError(`node ${o.name} cannot listen on ${o.host}:${o.port}: ${e.code ?? e.message}`)),
      );
    });
    server.on("error", (e) => o.event(`server error: ${e.message}`));
    server.on("connection", (ws) => void this.connection(ws));
    return `ws://${o.host}:${(server.address() as { port: number }).port}`;
  }

  close(): Promise<void> {
    return new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  private async connection(ws: WebSocket): Promise<void> {
    const raw = new Link(ws, this.o.maxFrame);
    raw.on("violation", (e: Error) => this.o.event(`link from ${raw.peer}: ${e.message}; closed that link`));
    raw.on("failure", () => undefined);
    const link = await accept(raw, { secret: this.o.secret, node: this.o.name });
    if (!link) {
      this.o.event(`refused a connection: wrong cluster secret`);
      return;
    }
    this.onLink(link);
  }
}
