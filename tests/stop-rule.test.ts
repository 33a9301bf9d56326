// The pre-copy stop rule, outcome by outcome.

import { describe, expect, it } from "vitest";
import { stopRule, type RoundFigures } from "../host/migration/source/stop-rule.js";

const PAGE = 4096;
const options = { maxDowntimeMs: 2, maxRounds: 30 };
/** a round at 100 MB/s: 2 ms carries 200 KB, about 48 pages */
const round = (r: Partial<RoundFigures>): RoundFigures => ({
  round: 1,
  pagesSent: 1000,
  dirtyLeft: 100,
  bytesPerSecond: 100e6,
  pageSize: PAGE,
  ...r,
});

describe("pre-copy stop rule", () => {
  it("stops when what is dirty would go within --max-downtime at the round's bandwidth", () => {
    expect(stopRule(round({ dirtyLeft: 48 }), options)).toBe("fits");
    expect(stopRule(round({ dirtyLeft: 0, pagesSent: 0 }), options)).toBe("fits");
    // the same pages do not fit a slower link
    expect(stopRule(round({ dirtyLeft: 48, bytesPerSecond: 10e6 }), options)).toBe("continue");
    // nor a shorter limit
    expect(stopRule(round({ dirtyLeft: 48 }), { ...options, maxDowntimeMs: 1 })).toBe("continue");
  });

  it("stops when the rounds no longer shrink", () => {
    expect(stopRule(round({ dirtyLeft: 1000, pagesSent: 1000 }), options)).toBe("not-shrinking");
    expect(stopRule(round({ dirtyLeft: 1500, pagesSent: 1000 }), options)).toBe("not-shrinking");
    expect(stopRule(round({ dirtyLeft: 999, pagesSent: 1000 }), options)).toBe("continue");
  });

  it("stops at --max-rounds", () => {
    expect(stopRule(round({ round: 30 }), options)).toBe("round-cap");
    expect(stopRule(round({ round: 29 }), options)).toBe("continue");
    expect(stopRule(round({ round: 1 }), { ...options, maxRounds: 1 })).toBe("round-cap");
  });

  it("throttles (auto-converge) when a round did not halve what is dirty and the guest can be slowed more", () => {
    const can = { canThrottle: true };
    expect(stopRule(round({ dirtyLeft: 501, pagesSent: 1000, ...can }), options)).toBe("throttle");
    expect(stopRule(round({ dirtyLeft: 1500, pagesSent: 1000, ...can }), options)).toBe("throttle");
    // halved: the rounds converge by themselves
    expect(stopRule(round({ dirtyLeft: 500, pagesSent: 1000, ...can }), options)).toBe("continue");
    // at its maximum (or --no-throttle) the rounds that do not shrink stop
    expect(stopRule(round({ dirtyLeft: 1000, pagesSent: 1000, canThrottle: false }), options)).toBe("not-shrinking");
    // what fits goes, throttle or not; and the round cap holds
    expect(stopRule(round({ dirtyLeft: 48, pagesSent: 50, ...can }), options)).toBe("fits");
    expect(stopRule(round({ round: 30, dirtyLeft: 900, ...can }), options)).toBe("round-cap");
  });

  it("goes on while the dirty pages shrink but do not fit yet", () => {
    expect(stopRule(round({}), options)).toBe("continue");
  });

  it("judges a round that measured no bandwidth as 1 byte/s (never divides by zero)", () => {
    expect(stopRule(round({ bytesPerSecond: 0, dirtyLeft: 0 }), options)).toBe("fits");
    expect(stopRule(round({ bytesPerSecond: 0, dirtyLeft: 1 }), options)).toBe("continue");
  });
});
