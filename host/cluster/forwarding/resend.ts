// Forwarding by resending: a node that no longer runs a process answers a
// message for it "moved" (returned) and forgets it; the sender's node, which
// keeps the message until it is delivered, locates the process (asks every
// member: messaging/locator.ts) and sends it again. Nothing is kept behind at
// a node a process left, and a migration costs no control message; the cost
// comes later, as a return and a locate (a question to every member) for the
// first message of each sender after each move.
//
// Weakness: every sender pays the locate after every move, and a locate
// waits for every member (or its time-out) before it says "no such process".

import { CachedForwarding } from "./cached.js";
import type { NextStep } from "./forwarding.js";

export class Resend extends CachedForwarding {
  readonly mode = "resend";

  notHere(): NextStep {
    return { answer: "moved" };
  }
}
