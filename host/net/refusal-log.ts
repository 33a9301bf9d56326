// A log of what a node refused: connections that did not authenticate
// (server.ts), messages whose handler failed (cluster/router.ts). Each one is
// said once; a flood of them says at most PER_SECOND lines a second, then one
// line with how many it left out, so that nobody can fill the node's log.

const PER_SECOND = 10;

export class RefusalLog {
  private windowStart = 0;
  private said = 0;
  private left = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly event: (line: string) => void,
    /** what a line is about, for the count of those left out */
    private readonly what = "connections refused",
  ) {}

  line(text: string): void {
    const now = Date.now();
    if (now - this.windowStart >= 1000) {
      this.flush();
      this.windowStart = now;
      this.said = 0;
    }
    if (this.said++ < PER_SECOND) return this.event(text);
    this.left++;
    this.timer ??= setTimeout(() => this.flush(), 1000 - (now - this.windowStart)).unref();
  }

  private flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.left) this.event(`... and ${this.left} more ${this.what} in that second (not each logged)`);
    this.left = 0;
  }
}
