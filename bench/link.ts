// `--link RATE`: run the benchmark's two nodes over a real, rate-capped link.
//
// Two network namespaces, migrant-a and migrant-b, are joined by a veth pair
// (10.77.0.1 <-> 10.77.0.2) whose both ends get a token-bucket filter (tbf) at
// RATE, so each direction is capped. Where the kernel has the netem qdisc, each
// end also adds DELAY ms (this machine's kernel lacks it: said, and skipped).
// The nodes listen on 10.77.0.x inside their namespaces and migrate over that
// veth. The benchmark itself stays in the root namespace; it reaches each node
// through a second, uncapped veth per namespace and a host route to the node's
// address (the namespace accepts packets for its 10.77 address on any of its
// interfaces), so the benchmark's own traffic never shares the capped link.
//
// Everything needs root (CAP_NET_ADMIN) and the `ip` and `tc` tools; when a
// step is not permitted, `setupLink` says which and the benchmark runs on
// loopback instead. `teardown` deletes the namespaces (their veths go with them).

import { execFileSync } from "node:child_process";

export interface NetLink {
  rate: string;
  /** ms of added delay per direction, or null when netem is not available */
  delayMs: number | null;
  /** [namespace, address] of node A and node B */
  a: { ns: string; host: string };
  b: { ns: string; host: string };
  /** what was not permitted or not available (shown to the user) */
  notes: string[];
  teardown(): void;
}

const NS_A = "migrant-a";
const NS_B = "migrant-b";

function ip(...args: string[]): void {
  execFileSync("ip", args, { stdio: ["ignore", "ignore", "pipe"] });
}

function tc(ns: string, ...args: string[]): void {
  execFileSync("ip", ["netns", "exec", ns, "tc", ...args], { stdio: ["ignore", "ignore", "pipe"] });
}

function why(e: unknown): string {
  const err = e as { stderr?: Buffer; message: string };
  return (err.stderr?.toString().trim() || err.message).split("\n")[0];
}

function removeNamespaces(): void {
  for (const ns of [NS_A, NS_B]) {
    try {
      ip("netns", "del", ns);
    } catch {
      /* was not there */
    }
  }
}

/**
 * Sets up the two namespaces and the capped veth. Returns null (with the
 * reason in `refused`) when it is not permitted here.
 */
export function setupLink(rate: string, delayMs: number, refused: (why: string) => void): NetLink | null {
  removeNamespaces(); // left over from an interrupted run
  const notes: string[] = [];
  try {
    ip("netns", "add", NS_A);
    ip("netns", "add", NS_B);
    ip("link", "add", "mgr-a", "type", "veth", "peer", "name", "mgr-b");
    ip("link", "set", "mgr-a", "netns", NS_A);
    ip("link", "set", "mgr-b", "netns", NS_B);
    ip("-n", NS_A, "addr", "add", "10.77.0.1/24", "dev", "mgr-a");
    ip("-n", NS_B, "addr", "add", "10.77.0.2/24", "dev", "mgr-b");
    // the management legs: root <-> each namespace, uncapped
    ip("link", "add", "mgm-a", "type", "veth", "peer", "name", "mgm-a-in");
    ip("link", "add", "mgm-b", "type", "veth", "peer", "name", "mgm-b-in");
    ip("link", "set", "mgm-a-in", "netns", NS_A);
    ip("link", "set", "mgm-b-in", "netns", NS_B);
    ip("addr", "add", "10.78.1.1/30", "dev", "mgm-a");
    ip("addr", "add", "10.78.2.1/30", "dev", "mgm-b");
    ip("-n", NS_A, "addr", "add", "10.78.1.2/30", "dev", "mgm-a-in");
    ip("-n", NS_B, "addr", "add", "10.78.2.2/30", "dev", "mgm-b-in");
    for (const [ns, devs] of [
      [NS_A, ["lo", "mgr-a", "mgm-a-in"]],
      [NS_B, ["lo", "mgr-b", "mgm-b-in"]],
    ] as const) {
      for (const d of devs) ip("-n", ns, "link", "set", d, "up");
    }
    ip("link", "set", "mgm-a", "up");
    ip("link", "set", "mgm-b", "up");
    ip("route", "add", "10.77.0.1/32", "via", "10.78.1.2");
    ip("route", "add", "10.77.0.2/32", "via", "10.78.2.2");
  } catch (e) {
    removeNamespaces();
    refused(`ip netns/veth not permitted here (${why(e)}); running on loopback`);
    return null;
  }
  try {
    for (const [ns, dev] of [
      [NS_A, "mgr-a"],
      [NS_B, "mgr-b"],
    ]) {
      tc(ns, "qdisc", "add", "dev", dev, "root", "handle", "1:", "tbf", "rate", rate, "burst", "256kb", "latency", "50ms");
    }
  } catch (e) {
    removeNamespaces();
    refused(`tc tbf rate ${rate} not permitted here (${why(e)}); running on loopback`);
    return null;
  }
  let delay: number | null = null;
  if (delayMs > 0) {
    try {
      for (const [ns, dev] of [
        [NS_A, "mgr-a"],
        [NS_B, "mgr-b"],
      ]) {
        tc(ns, "qdisc", "add", "dev", dev, "parent", "1:1", "handle", "10:", "netem", "delay", `${delayMs}ms`);
      }
      delay = delayMs;
    } catch (e) {
      notes.push(`no added delay: the netem qdisc is not available (${why(e)})`);
    }
  }
  return {
    rate,
    delayMs: delay,
    a: { ns: NS_A, host: "10.77.0.1" },
    b: { ns: NS_B, host: "10.77.0.2" },
    notes,
    teardown: removeNamespaces,
  };
}
