// Message routing on a node. Each part of the node registers the message
// types it takes, separately for node links and client links; every link hands
// each decoded message to route(). This is how a new mechanism joins a node:
// as a module that registers its messages, not as more methods on the node.
//
// A handler that throws (or rejects) never ends the node. On a client link
// the request is answered with an error frame: the code of a RequestError,
// "bad-module" for a module that is not one, "bad-request" for any other
// refusal, "internal" for a bug. On a node link the failure is logged once.
// A client that sends a type no part takes gets a "bad-request" answer; a node
// that does is ignored (a newer peer may know more messages).

import type { MessageLink } from "../net/link.js";
import type { Message, MessageOf, MessageType } from "../net/protocol.js";
import { MigrantError, ModuleFormatError, RequestError, type ErrorCode } from "../errors.js";

export type Side = "node" | "client";
export type Handler<T extends MessageType> = (link: MessageLink, m: MessageOf<T>) => void | Promise<void>;

export class Router {
  private readonly handlers: Record<Side, Map<MessageType, Handler<never>>> = { node: new Map(), client: new Map() };

  constructor(private readonly event: (line: string) => void) {}

  /** Takes messages of `type` arriving on `side`'s links (one part per type and side). */
  on<T extends MessageType>(side: Side, type: T, handler: Handler<T>): void {
    if (this.handlers[side].has(type)) throw new Error(`router: ${side} message ${type} already has a handler`);
    this.handlers[side].set(type, handler as unknown as Handler<never>);
  }

  route(side: Side, link: MessageLink, m: Message): void {
    const handler = this.handlers[side].get(m.t) as Handler<MessageType> | undefined;
    if (!handler) {
      if (side === "client") link.send({ t: "error", req: requestId(m), code: "bad-request", message: `a client may not send ${m.t}` });
      return;
    }
    try {
      const done = handler(link, m as MessageOf<MessageType>);
      if (done instanceof Promise) done.catch((e: unknown) => this.failed(side, link, m, e));
    } catch (e) {
      this.failed(side, link, m, e);
    }
  }

  private failed(side: Side, link: MessageLink, m: Message, e: unknown): void {
    if (side === "node") {
      this.event(`${m.t} from node ${link.peer} failed: ${(e as Error).message}`);
      return;
    }
    const known = e instanceof MigrantError;
    const message = known ? e.message : `internal error: ${(e as Error).message}`;
    link.send({ t: "error", req: requestId(m), code: errorCode(e), message });
  }
}

/** The request id a client message carries (0 for those without one). */
export const requestId = (m: Message): number => ("req" in m ? m.req : 0);

function errorCode(e: unknown): ErrorCode {
  if (e instanceof RequestError) return e.code;
  if (e instanceof ModuleFormatError) return "bad-module";
  return e instanceof MigrantError ? "bad-request" : "internal";
}
