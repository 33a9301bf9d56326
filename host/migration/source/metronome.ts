// The node's side of the metronome thread (worker/metronome-thread.ts): one
// per node, started the first time a guest is throttled, never keeping the
// node alive.

import { MessageChannel, Worker } from "node:worker_threads";
import { METRONOME_SCRIPT } from "../../paths.js";
import type { MetronomeMessage } from "../../worker/metronome-thread.js";

class Metronome {
  private readonly wake = new Int32Array(new SharedArrayBuffer(4));
  private readonly channel = new MessageChannel();
  private readonly worker: Worker;

  constructor() {
    this.worker = new Worker(METRONOME_SCRIPT, {
      workerData: { port: this.channel.port2, wake: this.wake },
      transferList: [this.channel.port2],
    });
    this.worker.unref();
    this.channel.port1.unref();
  }

  post(m: MetronomeMessage): void {
    this.channel.port1.postMessage(m);
    Atomics.add(this.wake, 0, 1);
    Atomics.notify(this.wake, 0);
  }
}

let metronome: Metronome | null = null;
let ids = 0;

/** A guest's beat: a pause of `share` of every `periodMs`, asked for on time. */
export class Beat {
  private readonly id = ++ids;

  constructor(private readonly memory: WebAssembly.Memory) {}

  set(share: number, periodMs: number): void {
    metronome ??= new Metronome();
    metronome.post({
      t: "set",
      id: this.id,
      memory: this.memory.buffer as unknown as SharedArrayBuffer,
      periodMs,
      pauseUs: Math.round(share * periodMs * 1000),
    });
  }

  clear(): void {
    metronome?.post({ t: "clear", id: this.id });
  }
}
