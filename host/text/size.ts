// Sizes: the binary units, and sizes as people write and read them
// (1G, 256M, 64MiB, 4K, 65536 on the command line; "1.5 MiB" in output).

import { UsageError } from "../errors.js";

export const KiB = 1024;
export const MiB = 1024 * KiB;
export const GiB = 1024 * MiB;

const UNITS: Record<string, number> = { "": 1, k: KiB, m: MiB, g: GiB };

export function parseSize(text: string, what: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmg]?)(?:i?b)?\s*$/i.exec(text);
  if (!m) throw new UsageError(`${what}: "${text}" is not a size (examples: 65536, 64K, 256M, 1G)`);
  const n = Math.round(parseFloat(m[1]) * UNITS[m[2].toLowerCase()]);
  if (!Number.isSafeInteger(n) || n <= 0) throw new UsageError(`${what}: "${text}" must be a positive size`);
  return n;
}

export function formatSize(n: number): string {
  if (n >= GiB && n % GiB === 0) return `${n / GiB} GiB`;
  if (n >= MiB) return `${+(n / MiB).toFixed(1)} MiB`;
  if (n >= KiB) return `${+(n / KiB).toFixed(1)} KiB`;
  return `${n} B`;
}
