// The forwarding mechanism of a node, by its mode (forwarding.ts says what each does).

import type { Forwarding, ForwardingEnv, ForwardingMode } from "./forwarding.js";
import { Origin } from "./origin.js";
import { Resend } from "./resend.js";
import { Traversal } from "./traversal.js";
import { Update } from "./update.js";

export function createForwarding(mode: ForwardingMode, env: ForwardingEnv): Forwarding {
  switch (mode) {
    case "resend":
      return new Resend(env);
    case "origin":
      return new Origin(env);
    case "traversal":
      return new Traversal(env);
    case "update":
      return new Update(env);
  }
}
