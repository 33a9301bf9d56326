// Where a node believes processes are: pid -> node, bounded (the entry used
// least recently goes first). The resend, traversal and update mechanisms
// keep one: as the sender's guess of where to send first and, in traversal,
// as the forwarding link a node keeps for a process that left it; origin keeps
// one for the processes created on it. A wrong entry costs a return or a hop,
// never a message.
//
// An entry may carry the epoch it is from: how many times the process had
// moved when it was there. A location update older than the entry (it came
// by a slower link, or from a peer that lies) is ignored, so that two updates
// arriving out of order cannot leave two nodes pointing at each other.

/** Entries a cache keeps (a few dozen bytes each). */
const MAX_ENTRIES = 100_000;

interface Entry {
  node: string;
  epoch: number;
}

export class LocationCache {
  private readonly at = new Map<string, Entry>();

  constructor(private readonly max = MAX_ENTRIES) {}

  get(pid: string): string | undefined {
    return this.at.get(pid)?.node;
  }

  /** Records `node` for `pid`; with an epoch, only if it is not older than what is known. False if it was older. */
  set(pid: string, node: string, epoch = -1): boolean {
    const had = this.at.get(pid);
    if (had && epoch >= 0 && epoch < had.epoch) return false;
    this.at.delete(pid);
    this.at.set(pid, { node, epoch: Math.max(epoch, had?.epoch ?? -1) });
    if (this.at.size > this.max) this.at.delete(this.at.keys().next().value!);
    return true;
  }

  delete(pid: string): void {
    this.at.delete(pid);
  }

  get size(): number {
    return this.at.size;
  }
}
