// A snapshot: everything a frozen process is, so that it can continue in a
// fresh worker on a fresh memory, here or on another node.

import type { FrozenState } from "../worker/messages.js";
import type { PageSet } from "../memory/pages.js";
import type { MailState } from "../messaging/process-mail.js";

export interface Snapshot {
  /** the migratable module (the whole file, every variant) */
  image: Uint8Array;
  pid: string;
  /** node the process was frozen on */
  node: string;
  args: string[];
  /** stdout lines produced but not yet delivered to anyone */
  pendingOutput: string[];
  state: FrozenState;
  /** memory size at the freeze, in Wasm pages */
  memoryPages: number;
  /** the used part of the Asyncify buffer */
  asyncify: Uint8Array;
  pages: PageSet;
  /** its mailbox: messages queued and not received, its send under way, its name */
  mail: MailState;
}
