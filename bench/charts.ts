// Three kinds of chart as self-contained SVG text (no script, no external
// resources), for the benchmark's HTML report and the README: grouped bars
// on a log or linear axis, lines over a shared x axis, and stacked steps
// over time.

export interface Series {
  name: string;
  points: Array<[number, number]>;
}

const COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"];
const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

function niceTicks(lo: number, hi: number, n = 5): number[] {
  const span = hi - lo || 1;
  const step0 = span / n;
  const mag = 10 ** Math.floor(Math.log10(step0));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= step0) ?? mag * 10;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

const fmt = (v: number) => (Math.abs(v) >= 1000 ? `${(v / 1000).toFixed(v % 1000 ? 1 : 0)}k` : String(Number(v.toPrecision(3))));

function legend(names: string[], x: number, y: number): string {
  return names
    .map(
      (n, i) =>
        `<rect x="${x}" y="${y + i * 16}" width="10" height="10" fill="${COLORS[i % COLORS.length]}"/><text x="${x + 14}" y="${y + i * 16 + 9}">${esc(n)}</text>`,
    )
    .join("");
}

/**
 * Bars: one group per category, one bar per series within it. `log` draws the
 * y axis on a log scale (values <= 0 are drawn as missing).
 */
export function barChart(o: {
  title: string;
  yLabel: string;
  categories: string[];
  series: Array<{ name: string; values: Array<number | null> }>;
  log?: boolean;
  line?: { y: number; label: string };
}): string {
  const W = 760,
    H = 320,
    L = 60,
    R = 130,
    T = 30,
    B = 50;
  const all = o.series.flatMap((s) => s.values).filter((v): v is number => v !== null && Number.isFinite(v) && (!o.log || v > 0));
  if (o.line) all.push(o.line.y);
  let lo = o.log ? 10 ** Math.floor(Math.log10(Math.min(...all, 1))) : 0;
  let hi = o.log ? 10 ** Math.ceil(Math.log10(Math.max(...all, 1))) : Math.max(...all, 1) * 1.1;
  if (!all.length) {
    lo = o.log ? 0.1 : 0;
    hi = 1;
  }
  const f = (v: number) => (o.log ? Math.log10(v) : v);
  const y = (v: number) => T + (H - T - B) * (1 - (f(v) - f(lo)) / (f(hi) - f(lo)));
  const ticks = o.log ? Array.from({ length: Math.log10(hi / lo) + 1 }, (_, i) => lo * 10 ** i) : niceTicks(lo, hi);
  const gw = (W - L - R) / Math.max(1, o.categories.length);
  const bw = (gw * 0.8) / Math.max(1, o.series.length);
  let svg = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" font-family="sans-serif" font-size="11">`;
  svg += `<rect width="${W}" height="${H}" fill="white"/><text x="${W / 2}" y="18" text-anchor="middle" font-size="13">${esc(o.title)}</text>`;
  for (const t of ticks)
    svg += `<line x1="${L}" x2="${W - R}" y1="${y(t)}" y2="${y(t)}" stroke="#ddd"/><text x="${L - 4}" y="${y(t) + 4}" text-anchor="end">${fmt(t)}</text>`;
  svg += `<text transform="translate(14 ${(H - B + T) / 2}) rotate(-90)" text-anchor="middle">${esc(o.yLabel)}</text>`;
  o.categories.forEach((c, ci) => {
    const x0 = L + ci * gw + gw * 0.1;
    o.series.forEach((s, si) => {
      const v = s.values[ci];
      if (v === null || !Number.isFinite(v) || (o.log && v <= 0)) return;
      const top = y(Math.max(v, lo));
      svg += `<rect x="${x0 + si * bw}" y="${top}" width="${bw - 1}" height="${H - B - top}" fill="${COLORS[si % COLORS.length]}"><title>${esc(`${c} ${s.name}: ${fmt(v)}`)}</title></rect>`;
    });
    svg += `<text x="${L + ci * gw + gw / 2}" y="${H - B + 14}" text-anchor="middle">${esc(c)}</text>`;
  });
  if (o.line && o.line.y >= lo && o.line.y <= hi) {
    svg += `<line x1="${L}" x2="${W - R}" y1="${y(o.line.y)}" y2="${y(o.line.y)}" stroke="#c00" stroke-dasharray="4 3"/><text x="${W - R - 2}" y="${y(o.line.y) - 3}" text-anchor="end" fill="#c00">${esc(o.line.label)}</text>`;
  }
  svg += `<line x1="${L}" x2="${L}" y1="${T}" y2="${H - B}" stroke="#333"/><line x1="${L}" x2="${W - R}" y1="${H - B}" y2="${H - B}" stroke="#333"/>`;
  svg += legend(
    o.series.map((s) => s.name),
    W - R + 10,
    T,
  );
  return svg + "</svg>";
}

/** Lines over a shared x axis. */
export function lineChart(o: {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  width?: number;
  height?: number;
  marks?: Array<{ x: number; label: string }>;
}): string {
  const xs = o.series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = o.series.flatMap((s) => s.points.map((p) => p[1])).filter(Number.isFinite);
  const [x0, x1] = [Math.min(...xs, 0), Math.max(...xs, 1)];
  const f = frame(o, [x0, x1], [Math.min(0, ...ys), Math.max(...ys, 1) * 1.05], niceTicks);
  const { x, y, T, H, B } = f;
  let svg = f.svg;
  for (const m of o.marks ?? []) {
    if (m.x < x0 || m.x > x1) continue;
    svg += `<line x1="${x(m.x)}" x2="${x(m.x)}" y1="${T}" y2="${H - B}" stroke="#999" stroke-dasharray="3 3"/><text x="${x(m.x) + 2}" y="${T + 10}" fill="#666">${esc(m.label)}</text>`;
  }
  o.series.forEach((s, i) => {
    const pts = s.points.filter((p) => Number.isFinite(p[1]));
    if (!pts.length) return;
    svg += `<polyline fill="none" stroke="${COLORS[i % COLORS.length]}" stroke-width="1.5" points="${pts.map((p) => `${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`).join(" ")}"><title>${esc(s.name)}</title></polyline>`;
  });
  return svg + f.close(o.series.map((s) => s.name));
}

/**
 * Stacked steps over a shared x axis: at each x, the series' values piled up
 * (the first at the bottom), each held until the next x (counts sampled in
 * time, such as the processes on each node).
 */
export function stackedChart(o: {
  title: string;
  xLabel: string;
  yLabel: string;
  x: number[];
  series: Array<{ name: string; values: number[] }>;
  width?: number;
  height?: number;
  /** the x and y axes' ends (charts side by side on one scale), when they reach past the data */
  xMax?: number;
  yMax?: number;
}): string {
  const tops = o.x.map((_, k) => o.series.reduce((a, s) => a + (s.values[k] ?? 0), 0));
  const f = frame(o, [Math.min(...o.x, 0), Math.max(...o.x, o.xMax ?? 1)], [0, Math.max(...tops, o.yMax ?? 1)], (a, b) =>
    niceTicks(a, b).filter((v) => Number.isInteger(v)),
  );
  const { x, y } = f;
  let svg = f.svg;
  const below = o.x.map(() => 0);
  o.series.forEach((s, i) => {
    const above = below.map((b, k) => b + (s.values[k] ?? 0));
    // the upper edge left to right, then the lower edge back, each value held until the next x
    const steps = (edge: number[]) =>
      o.x.flatMap((xv, k) => [
        `${x(xv).toFixed(1)},${y(edge[k]).toFixed(1)}`,
        `${x(o.x[k + 1] ?? xv).toFixed(1)},${y(edge[k]).toFixed(1)}`,
      ]);
    const pts = [...steps(above), ...steps(below).reverse()];
    svg += `<polygon fill="${COLORS[i % COLORS.length]}" fill-opacity="0.85" stroke="none" points="${pts.join(" ")}"><title>${esc(s.name)}</title></polygon>`;
    above.forEach((v, k) => (below[k] = v));
  });
  return svg + f.close(o.series.map((s) => s.name));
}

/**
 * The frame the line and stacked charts draw in: the SVG opening, title, grid
 * and ticks, the axis labels, and the scales from data to pixels; `close`
 * adds the axes and the legend and ends the SVG.
 */
function frame(
  o: { title: string; xLabel: string; yLabel: string; width?: number; height?: number },
  [x0, x1]: [number, number],
  [y0, y1]: [number, number],
  yTicks: (a: number, b: number) => number[],
) {
  const W = o.width ?? 760,
    H = o.height ?? 300,
    L = 60,
    R = 130,
    T = 30,
    B = 45;
  const x = (v: number) => L + ((v - x0) / (x1 - x0 || 1)) * (W - L - R);
  const y = (v: number) => T + (H - T - B) * (1 - (v - y0) / (y1 - y0 || 1));
  let svg = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" font-family="sans-serif" font-size="11">`;
  svg += `<rect width="${W}" height="${H}" fill="white"/><text x="${W / 2}" y="18" text-anchor="middle" font-size="13">${esc(o.title)}</text>`;
  for (const t of yTicks(y0, y1))
    svg += `<line x1="${L}" x2="${W - R}" y1="${y(t)}" y2="${y(t)}" stroke="#ddd"/><text x="${L - 4}" y="${y(t) + 4}" text-anchor="end">${fmt(t)}</text>`;
  for (const t of niceTicks(x0, x1, 8)) svg += `<text x="${x(t)}" y="${H - B + 14}" text-anchor="middle">${fmt(t)}</text>`;
  svg += `<text x="${(L + W - R) / 2}" y="${H - 8}" text-anchor="middle">${esc(o.xLabel)}</text>`;
  svg += `<text transform="translate(14 ${(H - B + T) / 2}) rotate(-90)" text-anchor="middle">${esc(o.yLabel)}</text>`;
  const close = (names: string[]) =>
    `<line x1="${L}" x2="${L}" y1="${T}" y2="${H - B}" stroke="#333"/><line x1="${L}" x2="${W - R}" y1="${H - B}" y2="${H - B}" stroke="#333"/>` +
    legend(names, W - R + 10, T) +
    "</svg>";
  return { svg, x, y, T, H, B, close };
}
