// Admission: what a connection may cost the node before it has authenticated.
// Until the HMAC handshake (auth.ts) is done the peer is a stranger, so:
//
//  - at most `maxPending` connections are authenticating at once; one more is
//    destroyed as it arrives (the node's total, --max-connections, is the
//    listening socket's own maxConnections);
//  - a connection that has not authenticated within `deadlineMs` of its TCP
//    connect is destroyed, whatever it is doing (TLS handshake, HTTP upgrade,
//    handshake messages), and whether or not it would close politely;
//  - after its WebSocket upgrade it may send PRE_AUTH_BYTES (plenty for the
//    handshake), counted on the socket as they arrive; one byte more and it is
//    destroyed. So the node never buffers more than that and one socket read
//    of a stranger's frame, however large the frame says it is; --max-frame
//    only applies once the peer is in. (The HTTP request before the upgrade is
//    bounded by Node's own header limit.)
//
// Each connection that fails says why, once, in the node's log (RefusalLog:
// a flood of them does not flood it).

import type { Socket } from "node:net";
import { formatSize, KiB } from "../text/size.js";
import type { RefusalLog } from "./refusal-log.js";

/** What a connection may send after its upgrade and before it authenticated. */
export const PRE_AUTH_BYTES = 16 * KiB;
export const DEFAULT_MAX_PENDING = 64;
export const DEFAULT_MAX_CONNECTIONS = 1024;
/** From TCP connect to authenticated, at most. */
export const AUTH_DEADLINE_MS = 5000;

/** Where a connection is in getting in. */
type Phase = "tls" | "http" | "websocket";

interface Where {
  remoteAddress?: string;
  remotePort?: number;
}

const keyOf = (s: Where) => `${s.remoteAddress}|${s.remotePort}`;

/** "127.0.0.1:5000", "[::1]:5000" */
export const addressOf = (s: Where) => (s.remoteAddress?.includes(":") ? `[${s.remoteAddress}]` : s.remoteAddress) + `:${s.remotePort}`;

/** One connection on its way in. */
export class Arrival {
  admitted = false;
  private failed = false;
  private closed = false;
  private counted: { socket: Socket; onData: (chunk: Buffer) => void } | null = null;
  private readonly timer: NodeJS.Timeout;

  constructor(
    readonly raw: Socket,
    readonly from: string,
    public phase: Phase,
    private readonly o: { deadlineMs: number; log: RefusalLog; gone: (a: Arrival) => void },
  ) {
    this.timer = setTimeout(() => {
      this.fail(`it did not authenticate within ${o.deadlineMs / 1000} s`);
      raw.destroy();
    }, o.deadlineMs);
    raw.on("error", () => undefined);
    raw.once("close", () => {
      this.closed = true;
      clearTimeout(this.timer);
      o.gone(this);
      if (this.admitted || this.failed) return;
      this.failed = true;
      const during =
        this.phase === "tls" ? "during the TLS handshake (does it trust this node's certificate? see --ca)" : "before authenticating";
      o.log.line(`a connection closed ${during} (from ${this.from})`);
    });
  }

  /**
   * Refuses it: says why (the first reason only), and who it said it was if it got that far;
   * `drop` destroys it now, else the deadline does if it has not gone by then.
   */
  fail(reason: string, o: { drop?: boolean; peer?: string } = {}): void {
    if (!this.failed && !this.admitted && !this.closed) {
      this.failed = true;
      this.o.log.line(`refused a connection: ${reason} (${o.peer ? `${o.peer} ` : ""}from ${this.from})`);
    }
    if (o.drop) this.raw.destroy();
  }

  /** Its WebSocket upgrade: from here on every byte it sends counts, `already` of them in the upgrade's head. */
  upgraded(socket: Socket, already: number): void {
    this.phase = "websocket";
    let bytes = already;
    const onData = (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes > PRE_AUTH_BYTES) this.fail(`it sent more than ${formatSize(PRE_AUTH_BYTES)} before authenticating`, { drop: true });
    };
    this.counted = { socket, onData };
    socket.on("data", onData);
    if (bytes > PRE_AUTH_BYTES) this.fail(`it sent more than ${formatSize(PRE_AUTH_BYTES)} before authenticating`, { drop: true });
  }

  /** It authenticated: no deadline, no byte count, no longer pending. */
  admit(): void {
    this.admitted = true;
    clearTimeout(this.timer);
    this.counted?.socket.off("data", this.counted.onData);
    this.counted = null;
    this.o.gone(this);
  }
}

export interface AdmissionOptions {
  maxPending: number;
  deadlineMs: number;
  /** TLS connections start in their TLS handshake */
  tls: boolean;
  log: RefusalLog;
}

/** The connections not authenticated yet, by their remote address (the same on the TCP socket and the TLS socket over it). */
export class Admission {
  private readonly pending = new Map<string, Arrival>();

  constructor(private readonly o: AdmissionOptions) {}

  /** A new TCP connection: its Arrival, or null when too many are pending (it is destroyed). */
  arrive(raw: Socket): Arrival | null {
    const from = addressOf(raw);
    if (this.pending.size >= this.o.maxPending) {
      this.o.log.line(`refused a connection: ${this.o.maxPending} connections are authenticating already (--max-pending) (from ${from})`);
      raw.on("error", () => undefined);
      raw.destroy();
      return null;
    }
    const key = keyOf(raw);
    this.pending.get(key)?.raw.destroy(); // a dead one of the same address whose close is still to come
    const a = new Arrival(raw, from, this.o.tls ? "tls" : "http", {
      deadlineMs: this.o.deadlineMs,
      log: this.o.log,
      gone: (x) => {
        if (this.pending.get(key) === x) this.pending.delete(key);
      },
    });
    this.pending.set(key, a);
    return a;
  }

  /** The pending connection a socket (the TCP socket or the TLS socket over it) belongs to. */
  of(socket: Where): Arrival | undefined {
    return this.pending.get(keyOf(socket));
  }

  /** Destroys every connection still on its way in (the node stops). */
  dropAll(): void {
    for (const a of [...this.pending.values()]) a.raw.destroy();
  }
}
