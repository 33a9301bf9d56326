// Pre-copy rounds, while the guest runs in the tracking variant: round 1 sends
// every non-zero page, each next round the pages dirtied during the previous
// one. A round ends when the destination has installed its pages (sync), so
// its bandwidth is the real one; then the stop rule (stop-rule.ts) decides
// whether another round goes, and whether the guest is slowed first
// (auto-converge, throttle.ts).

import type { Emigration } from "./emigration.js";
import { stopRule } from "./stop-rule.js";
import { countDirty, takeDirty } from "./tracking.js";

export async function preCopyRounds(m: Emigration): Promise<void> {
  const { stats } = m;
  let pages = m.nonZeroPages();
  for (;;) {
    stats.rounds++;
    m.enter(`round ${stats.rounds}`);
    const start = performance.now();
    const before = stats.rawBytes; // the pages' own bytes: with --compress the link carries them faster than its byte rate
    await m.stream.send(pages, `pre-copy round ${stats.rounds}`, true);
    await m.stream.sync();
    stats.pagesPerRound.push(pages.length);
    const secs = Math.max(1e-3, (performance.now() - start) / 1000);
    const dirtyLeft = countDirty(m);
    stats.dirtyRate = Math.round(dirtyLeft / secs);
    const figures = {
      round: stats.rounds,
      pagesSent: pages.length,
      dirtyLeft,
      bytesPerSecond: (stats.rawBytes - before) / secs,
      pageSize: m.layout.pageSize,
      canThrottle: m.throttle.canStep,
    };
    const decision = stopRule(figures, m.ctx.options);
    if (decision === "throttle") m.throttle.step();
    else if (decision !== "continue") return;
    pages = takeDirty(m);
  }
}
