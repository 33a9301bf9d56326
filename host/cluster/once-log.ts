// One log line per thing, however often it happens: a peer that keeps sending
// messages for a migration that is not under way is logged once for it, not
// once per message. The keys remembered are bounded (the oldest is forgotten
// first), so a peer that makes up new ones cannot grow the node's memory.

const KEYS = 1024;

export class OnceLog {
  private readonly said = new Set<string>();

  constructor(private readonly event: (line: string) => void) {}

  /** Logs `line` unless a line was logged for `key` already. */
  once(key: string, line: string): void {
    if (this.said.has(key)) return;
    this.said.add(key);
    if (this.said.size > KEYS) this.said.delete(this.said.values().next().value!);
    this.event(line);
  }
}
