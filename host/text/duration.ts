// Durations as people read them: "340 ms", "4.6 s", "12 min".

const SECOND = 1000;
const MINUTE = 60 * SECOND;

export function ago(ms: number): string {
  if (ms < SECOND) return `${ms} ms`;
  if (ms < 2 * MINUTE) return `${(ms / SECOND).toFixed(1)} s`;
  return `${Math.round(ms / MINUTE)} min`;
}
