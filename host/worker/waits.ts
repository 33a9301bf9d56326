// The waits of a guest's worker outside the guest's own (sleep, recv, a page):
// at a safepoint, while the node holds it (its CPU share) or the throttle asks
// for a pause (pre-copy's auto-converge); and, frozen or warm, for its orders.
// Each waits in Atomics.wait on a control word (memory/layout.ts) that the node
// bumps and notifies, and each ends early for a freeze.

import { receiveMessageOnPort, type MessagePort } from "node:worker_threads";
import {
  CTRL_INTERRUPT,
  CTRL_ORDERS,
  CTRL_THROTTLE_US,
  CTRL_WAKE,
  INTERRUPT_FREEZE,
  INTERRUPT_HOLD,
  INTERRUPT_THROTTLE,
} from "../memory/layout.js";
import type { GuestClock } from "./guest-clock.js";
import type { ToWorker } from "./messages.js";

/** The node holds the guest (its CPU share): wait at this safepoint until it lets go, or asks for a freeze. */
export function held(ctrl: Int32Array, clock: GuestClock): void {
  const holding = () => (Atomics.load(ctrl, CTRL_INTERRUPT) & (INTERRUPT_HOLD | INTERRUPT_FREEZE)) === INTERRUPT_HOLD;
  if (!holding()) return;
  clock.holding(() => {
    for (;;) {
      const seen = Atomics.load(ctrl, CTRL_WAKE);
      if (!holding()) return;
      Atomics.wait(ctrl, CTRL_WAKE, seen, 1000);
    }
  });
}

/**
 * Asks the guest of these control words to pause for `us` microseconds at its
 * next safepoint (0: no pause pending), as throttled() honours it: the node
 * (GuestProcess.throttle) and its metronome thread both ask so.
 */
export function askPause(ctrl: Int32Array, us: number): void {
  Atomics.store(ctrl, CTRL_THROTTLE_US, Math.max(0, Math.round(us)));
  if (us > 0) Atomics.or(ctrl, CTRL_INTERRUPT, INTERRUPT_THROTTLE);
  else Atomics.and(ctrl, CTRL_INTERRUPT, ~INTERRUPT_THROTTLE);
}

/**
 * Pre-copy's auto-converge asked for a pause (migration/source/throttle.ts):
 * wait here for as long as it said, or until a freeze is asked for.
 */
export function throttled(ctrl: Int32Array, clock: GuestClock): void {
  if (!(Atomics.load(ctrl, CTRL_INTERRUPT) & INTERRUPT_THROTTLE)) return;
  Atomics.and(ctrl, CTRL_INTERRUPT, ~INTERRUPT_THROTTLE);
  const end = performance.now() + Atomics.load(ctrl, CTRL_THROTTLE_US) / 1000;
  clock.throttled(() => {
    for (;;) {
      const seen = Atomics.load(ctrl, CTRL_WAKE);
      const left = end - performance.now();
      if (left <= 0 || Atomics.load(ctrl, CTRL_INTERRUPT) & INTERRUPT_FREEZE) return;
      Atomics.wait(ctrl, CTRL_WAKE, seen, left);
    }
  });
}

/** How often a worker waiting for its orders looks for them even if not woken. */
const ORDERS_POLL_MS = 50;

/**
 * Waits for the node's orders in Atomics.wait on the orders word, not in the
 * event loop: the node posts a message, then bumps and notifies the word
 * (GuestProcess.post), and the message is taken at once with
 * receiveMessageOnPort. Through an idle worker's event loop a message took
 * about a millisecond to arrive, and at a handover that is downtime; a notify
 * takes tens of microseconds. `handle` says whether to wait for more.
 */
export function awaitOrders(ctrl: Int32Array, port: MessagePort, handle: (m: ToWorker) => boolean): void {
  for (;;) {
    const seen = Atomics.load(ctrl, CTRL_ORDERS);
    const got = receiveMessageOnPort(port);
    if (got) {
      if (handle(got.message as ToWorker)) continue;
      return;
    }
    Atomics.wait(ctrl, CTRL_ORDERS, seen, ORDERS_POLL_MS);
  }
}
