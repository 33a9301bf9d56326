// A node's limits on the work it takes: how many processes run at once
// (--max-procs) and how much guest memory they may grow to in all (--max-memory,
// the sum of their maximum memories: a guest may grow to its maximum at any
// time, so that is what a node promises). A new process, started here or
// arriving by migration, is refused with a message that says which limit.

import type { Image } from "../image.js";
import { RequestError } from "../errors.js";
import { WASM_PAGE } from "../memory/layout.js";
import { formatSize } from "../text/size.js";
import type { ProcessTable } from "./processes.js";

export interface Limits {
  maxProcs: number;
  /** bytes */
  maxMemory: number;
}

export class Capacity {
  private stopping = false;

  constructor(
    private readonly node: string,
    private readonly limits: Limits,
    private readonly table: ProcessTable,
  ) {}

  /** Refuses one more arriving migration when `arriving` are under way already: at most --max-procs at once. */
  checkArrivals(arriving: number): void {
    if (arriving >= this.limits.maxProcs) {
      throw new RequestError("node-full", `node ${this.node} has ${arriving} migrations arriving, its limit (--max-procs)`);
    }
  }

  /** From now on every new process is refused: the node is stopping. */
  close(): void {
    this.stopping = true;
  }

  get closed(): boolean {
    return this.stopping;
  }

  /**
   * Refuses a new process of `image` over the limits (RequestError "node-full" or "stopping");
   * `arriving`: processes promised already that are not in the table yet (migrations arriving).
   */
  check(image: Image, arriving: { procs: number; bytes: number } = { procs: 0, bytes: 0 }): void {
    if (this.stopping) throw new RequestError("stopping", `node ${this.node} is stopping and takes no new work`);
    const running = this.table.running().length + arriving.procs;
    if (running >= this.limits.maxProcs) {
      throw new RequestError(
        "node-full",
        `node ${this.node} is full: it runs ${running} processes${arriving.procs ? ` (${arriving.procs} of them arriving)` : ""}, its limit (--max-procs)`,
      );
    }
    const wants = image.layout.maxPages * WASM_PAGE;
    const promised = this.table.memoryPromised() + arriving.bytes;
    if (promised + wants > this.limits.maxMemory) {
      throw new RequestError(
        "node-full",
        `node ${this.node} cannot take a guest of up to ${formatSize(wants)}: ${formatSize(promised)} of its ${formatSize(this.limits.maxMemory)} (--max-memory) are promised`,
      );
    }
  }
}
