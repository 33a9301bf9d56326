// The metronome: a thread of its own that asks guests for their throttle's
// pauses on time (migration/source/throttle.ts), one per node, started the
// first time a guest is throttled.
//
// A node's main thread is a poor clock while it pre-copies: it sends pages in
// batches of milliseconds, and a timer there fires that much late, so a guest
// meant to run 1% of the time would run several. This thread does nothing
// else: it sleeps in Atomics.wait until the next beat is due, and then sets
// that guest's THROTTLE interrupt with the pause's length in its control
// words. The guest's worker pauses at its next safepoint for that long
// (guest-worker.ts), so a beat of period P with pause S lets it run P - S.
//
// The node's side (metronome.ts) posts "set" (a guest's control words, its
// period and pause) and "clear" on a port, then bumps and notifies the wake
// word; the thread reads the port without waiting (receiveMessageOnPort)
// each time it wakes, having read the wake word first, so that no message is
// missed between the two.

import { receiveMessageOnPort, workerData, type MessagePort } from "node:worker_threads";
import { CTRL } from "../memory/layout.js";
import { askPause } from "./waits.js";

export type MetronomeMessage =
  { t: "set"; id: number; memory: SharedArrayBuffer; periodMs: number; pauseUs: number } | { t: "clear"; id: number };

interface Beat {
  ctrl: Int32Array;
  periodMs: number;
  pauseUs: number;
  due: number;
}

const { port, wake } = workerData as { port: MessagePort; wake: Int32Array };
const beats = new Map<number, Beat>();

function apply(m: MetronomeMessage): void {
  if (m.t === "clear") beats.delete(m.id);
  else {
    const due = beats.get(m.id)?.due ?? performance.now();
    beats.set(m.id, { ctrl: new Int32Array(m.memory, CTRL, 16), periodMs: m.periodMs, pauseUs: m.pauseUs, due });
  }
}

for (;;) {
  const seen = Atomics.load(wake, 0);
  for (let m = receiveMessageOnPort(port); m; m = receiveMessageOnPort(port)) apply(m.message as MetronomeMessage);
  const now = performance.now();
  let next = Infinity;
  for (const b of beats.values()) {
    if (now >= b.due) {
      askPause(b.ctrl, b.pauseUs);
      b.due = Math.max(b.due + b.periodMs, now);
    }
    next = Math.min(next, b.due);
  }
  Atomics.wait(wake, 0, seen, next === Infinity ? undefined : Math.max(0, next - performance.now()));
}
