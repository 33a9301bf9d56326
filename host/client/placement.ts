// Where a new process goes, or a drained one: the up node with the fewest
// running processes, then the least guest memory in use, then by name.

import { RequestError } from "../errors.js";
import type { NodeInfo } from "../cluster/views.js";

export function leastLoaded(nodes: NodeInfo[], except: Set<string>): NodeInfo {
  const up = nodes.filter((n) => n.state === "up" && !except.has(n.name));
  if (!up.length) throw new RequestError("no-such-node", "no node of the cluster is up to take it");
  return up.sort((a, b) => a.load - b.load || a.memory - b.memory || a.name.localeCompare(b.name))[0];
}
