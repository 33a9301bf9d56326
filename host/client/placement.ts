// Where a new process goes (`run --on auto`), or a drained one: where it will
// run soonest. A node runs `cpus` processes at full speed and shares that
// among its processes' demands when they ask for more; a new process adds a
// demand of about 1 (it is unmeasured), so on a node of demand d it gets
// about cpus / (d + 1) of a core. The place is the up node where
// (d + 1) / cpus is least: the largest share, and so never a node that would
// be over its capacity, and so give the process up to the balancer at once,
// while another has room. Ties: fewer running processes, then the name. A
// node whose guest memory is at its limit cannot take it.

import { RequestError } from "../errors.js";
import type { NodeInfo } from "../cluster/views.js";

/** What a node's CPU would be asked for with one more process, per unit of its capacity (above 1: it would share). */
export const pressureWith = (n: Pick<NodeInfo, "demand" | "cpus">) => (n.demand + 1) / n.cpus;

export function leastLoaded(nodes: NodeInfo[], except: Set<string>): NodeInfo {
  const up = nodes.filter((n) => n.state === "up" && !except.has(n.name) && n.memory < n.maxMemory);
  if (!up.length) throw new RequestError("no-such-node", "no node of the cluster is up with room to take it");
  return up.sort((a, b) => pressureWith(a) - pressureWith(b) || a.load - b.load || a.name.localeCompare(b.name))[0];
}
