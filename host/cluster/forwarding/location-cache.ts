// Where a node believes processes are: pid -> node, bounded (the entry used
// least recently goes first). The resend, traversal and update mechanisms
// keep one: as the sender's guess of where to send first and, in traversal,
// as the forwarding link a node keeps for a process that left it. A wrong
// entry costs a return or a hop, never a message.

/** Entries a node keeps (a few dozen bytes each). */
const MAX_ENTRIES = 100_000;

export class LocationCache {
  private readonly at = new Map<string, string>();

  get(pid: string): string | undefined {
    return this.at.get(pid);
  }

  set(pid: string, node: string): void {
    this.at.delete(pid);
    this.at.set(pid, node);
    if (this.at.size > MAX_ENTRIES) this.at.delete(this.at.keys().next().value!);
  }

  delete(pid: string): void {
    this.at.delete(pid);
  }
}
