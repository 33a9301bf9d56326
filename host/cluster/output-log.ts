// A process's output as its node keeps it: every line numbered (1, 2, ...,
// on across migrations: a process that arrives carries on from the number it
// had), and the last RING lines kept, so that a client that attaches, or that
// follows the process to its new node, gets the lines it has not seen yet and
// none twice.

/** How many recent lines a node keeps for replay. */
export const RING = 1000;

export class OutputLog {
  private readonly ring: Array<[number, string]> = [];

  /** `last`: the number of the last line printed before this log (0 for a new process) */
  constructor(private last = 0) {}

  /** Numbers and keeps a line; returns its number. */
  append(line: string): number {
    const seq = ++this.last;
    this.ring.push([seq, line]);
    if (this.ring.length > RING) this.ring.shift();
    return seq;
  }

  /** The number of the last line so far. */
  get seq(): number {
    return this.last;
  }

  /** The kept lines numbered `from` or later, as [seq, line]. */
  since(from: number): Array<[number, string]> {
    return this.ring.filter(([seq]) => seq >= from);
  }
}
