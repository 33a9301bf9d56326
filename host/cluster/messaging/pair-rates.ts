// How often two processes exchange messages, as this node sees it: what the
// balancer's chatty-pair rule and its selection read (policy/). The post
// office counts each message once per node that holds one of its ends: on
// delivery into a mailbox here, and on a send of a process here whose
// receiver is not here. A pair's count goes into one-second buckets; its rate
// is the sum of the last WINDOW_S buckets over WINDOW_S. The table is bounded:
// a pair silent for the whole window is forgotten, and beyond MAX_PAIRS the
// new pair is not counted.

const WINDOW_S = 5;
const MAX_PAIRS = 4096;

interface Counted {
  /** counts per second, the newest last */
  buckets: number[];
  /** the second of the newest bucket */
  second: number;
}

export interface PairRate {
  a: string;
  b: string;
  /** messages per second, both directions */
  rate: number;
}

export class PairRates {
  private readonly pairs = new Map<string, Counted>();

  constructor(private readonly now: () => number = () => performance.now()) {}

  /** One message between `from` and `to` (either direction). */
  count(from: string, to: string): void {
    if (from === to) return;
    const key = from < to ? `${from} ${to}` : `${to} ${from}`;
    const second = Math.floor(this.now() / 1000);
    let c = this.pairs.get(key);
    if (!c) {
      if (this.pairs.size >= MAX_PAIRS) this.prune(second);
      if (this.pairs.size >= MAX_PAIRS) return;
      c = { buckets: [0], second };
      this.pairs.set(key, c);
    }
    this.advance(c, second);
    c.buckets[c.buckets.length - 1]++;
  }

  /** Every pair with messages in the window, and its rate. */
  rates(): PairRate[] {
    const second = Math.floor(this.now() / 1000);
    this.prune(second);
    return [...this.pairs].map(([key, c]) => {
      const [a, b] = key.split(" ");
      this.advance(c, second);
      return { a, b, rate: c.buckets.reduce((x, y) => x + y, 0) / WINDOW_S };
    });
  }

  /** The partners of `pid` and their rates. */
  partners(pid: string): Array<{ pid: string; rate: number }> {
    return this.rates().flatMap((r) => (r.a === pid ? [{ pid: r.b, rate: r.rate }] : r.b === pid ? [{ pid: r.a, rate: r.rate }] : []));
  }

  private advance(c: Counted, second: number): void {
    const steps = Math.min(WINDOW_S, Math.max(0, second - c.second));
    for (let i = 0; i < steps; i++) c.buckets.push(0);
    while (c.buckets.length > WINDOW_S) c.buckets.shift();
    c.second = Math.max(c.second, second);
  }

  private prune(second: number): void {
    for (const [key, c] of this.pairs) if (second - c.second >= WINDOW_S) this.pairs.delete(key);
  }
}
