// What the resend, traversal and update mechanisms share: a location cache,
// whose entry for a pid is the sender's first guess (else the pid's origin,
// where every process starts) and which learns from every delivery and every
// departure. Each mechanism overrides what it does differently.

import { PID, originOf } from "../../messaging/addresses.js";
import type { ProcInfo } from "../views.js";
import type { Forwarding, ForwardingEnv, ForwardingMode, NextStep } from "./forwarding.js";
import { LocationCache } from "./location-cache.js";

export abstract class CachedForwarding implements Forwarding {
  abstract readonly mode: ForwardingMode;
  protected readonly cache = new LocationCache();

  constructor(protected readonly env: ForwardingEnv) {}

  target(pid: string): string {
    return this.cache.get(pid) ?? originOf(pid);
  }

  abstract notHere(pid: string): NextStep;

  delivered(pid: string, at: string): void {
    this.cache.set(pid, at);
  }

  reached(_pid: string, _path: string[], _epoch: number): void {}

  /** Locates the process anew (resend's way, and update's fallback). */
  async returned(pid: string, _by: string): Promise<string | "ended" | "unknown" | "unreachable"> {
    const r = await this.env.locator.locate(pid);
    if (typeof r === "string") return r;
    this.cache.set(pid, r.node);
    return r.node;
  }

  /** Locates the process instead (resend, update; traversal waits for its chain). */
  unreachable(pid: string, node: string): Promise<string | "ended" | "unknown" | "unreachable"> {
    return this.returned(pid, node);
  }

  created(_pid: string): void {}

  beforeResume(_pid: string, _to: string, _holders: string[], _epoch: number): Promise<void> {
    return Promise.resolve();
  }

  left(pid: string, to: string, epoch: number): void {
    this.cache.set(pid, to, epoch);
  }

  ended(_pid: string, _epoch: number): void {}

  forget(pid: string): void {
    this.cache.delete(pid);
  }

  /** A location update from a peer: taken if it names a pid and a member, and is not older than what is known. */
  protected updated(pid: string, node: string, epoch: number): boolean {
    return PID.test(pid) && node !== this.env.self && this.env.known(node) && this.cache.set(pid, node, epoch);
  }

  heard(_member: string, _procs: ProcInfo[]): void {}
}
