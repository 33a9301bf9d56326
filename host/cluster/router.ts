// Message routing on a node. Each part of the node registers the message
// types it takes, separately for node links and client links; every link hands
// each decoded message to route(). This is how a new mechanism joins a node:
// as a module that registers its messages, not as more methods on the node.
//
// route() is the one boundary between a peer's messages and the node: a
// handler that throws (or rejects) never ends the node, and route() itself
// never throws. On a client link the request is answered with an error frame:
// the code of a RequestError, "bad-module" for a module that is not one,
// "bad-request" for any other refusal, "internal" for a bug. On a node link
// the failure is logged once, with the message type and the peer; a bug (a
// TypeError, a RangeError: what no refusal throws) is logged on either side,
// with its stack. A handler that finds a value no honest
// peer sends (a page past the module's memory, a migration id reused) throws a
// ProtocolError: that link is closed (code 1002) as if the frame had not
// decoded, and nothing else is touched.
// A client that sends a type no part takes gets a "bad-request" answer; a node
// that does is ignored (a newer peer may know more messages).

import { RefusalLog } from "../net/refusal-log.js";
import { CLOSE_PROTOCOL, type MessageLink } from "../net/link.js";
import { ProtocolError, type Message, type MessageOf, type MessageType } from "../net/protocol.js";
import { MigrantError, ModuleFormatError, RequestError, type ErrorCode } from "../errors.js";
import { messageOf } from "../text/thrown.js";

export type Side = "node" | "client";
export type Handler<T extends MessageType> = (link: MessageLink, m: MessageOf<T>) => void | Promise<void>;

export class Router {
  private readonly handlers: Record<Side, Map<MessageType, Handler<never>>> = { node: new Map(), client: new Map() };

  /** refusals, at most a few lines a second (a member can send many bad messages); a bug is always said */
  private readonly refusals: RefusalLog;

  constructor(private readonly event: (line: string) => void) {
    this.refusals = new RefusalLog(event, "failed messages");
  }

  /** Takes messages of `type` arriving on `side`'s links (one part per type and side). */
  on<T extends MessageType>(side: Side, type: T, handler: Handler<T>): void {
    if (this.handlers[side].has(type)) throw new Error(`router: ${side} message ${type} already has a handler`);
    this.handlers[side].set(type, handler as unknown as Handler<never>);
  }

  route(side: Side, link: MessageLink, m: Message): void {
    try {
      const handler = this.handlers[side].get(m.t) as Handler<MessageType> | undefined;
      if (!handler) {
        if (side === "client") link.send({ t: "error", req: requestId(m), code: "bad-request", message: `a client may not send ${m.t}` });
        return;
      }
      const done = handler(link, m as MessageOf<MessageType>);
      if (done instanceof Promise) done.catch((e: unknown) => this.failed(side, link, m, e));
    } catch (e) {
      this.failed(side, link, m, e);
    }
  }

  /** A handler failed: the peer is answered or its link closed, and the node logs it; nothing here throws. */
  private failed(side: Side, link: MessageLink, m: Message, e: unknown): void {
    const who = `${side} ${link.peer}`;
    try {
      if (e instanceof ProtocolError) {
        this.refusals.line(`${m.t} from ${who}: ${e.message}; closed that link`);
        if (side === "client") this.answer(link, m, "bad-request", e.message);
        link.close(CLOSE_PROTOCOL, `protocol error: ${e.message}`);
        return;
      }
      const code = errorCode(e);
      if (isBug(e)) this.event(`${m.t} from ${who} failed (a bug): ${e instanceof Error ? (e.stack ?? e.message) : messageOf(e)}`);
      else if (side === "node") this.refusals.line(`${m.t} from ${who} failed: ${messageOf(e)}`);
      if (side === "client") this.answer(link, m, code, code === "internal" ? `internal error: ${messageOf(e)}` : messageOf(e));
    } catch (again) {
      this.event(`${m.t} from ${who} failed (${messageOf(e)}), and so did its answer: ${messageOf(again)}`);
    }
  }

  private answer(link: MessageLink, m: Message, code: ErrorCode, message: string): void {
    link.send({ t: "error", req: requestId(m), code, message });
  }
}

/** The request id a client message carries (0 for those without one). */
export const requestId = (m: Message): number => ("req" in m ? m.req : 0);

/** What only a bug throws: the language's own errors (a TypeError, a RangeError ...), or a value that is no Error at all. */
const isBug = (e: unknown): boolean =>
  !(e instanceof Error) || (e.constructor !== Error && !(e instanceof MigrantError) && !(e instanceof ProtocolError));

function errorCode(e: unknown): ErrorCode {
  if (e instanceof RequestError) return e.code;
  if (e instanceof ModuleFormatError) return "bad-module";
  return e instanceof MigrantError ? "bad-request" : "internal";
}
