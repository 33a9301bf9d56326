// The benchmark's charts: Vega-Lite specs rendered to SVG text in Node
// (vega's headless View, no browser and no canvas), for the HTML reports and
// the README. Three kinds: grouped bars on a log or linear axis, lines (each
// axis linear or log) and stacked steps over time; each may carry reference
// lines with labels (a target, the floor of the machine) and marks on the x
// axis (a migration's start and end). Vega-Lite lays out the axes, legends and
// labels; the SVG keeps its viewBox and scales to the page's width.

import * as vega from "vega";
import { compile, type TopLevelSpec } from "vega-lite";

export interface Series {
  name: string;
  points: Array<[number, number]>;
}

/** A horizontal reference line at y, or a vertical one at x, with its label. */
export type Rule = { y: number; label: string } | { x: number; label: string };

const WIDTH = 620;
const HEIGHT = 240;
const FONT = "sans-serif";

type Layer = Record<string, unknown>;
type Row = Record<string, string | number>;

/** Renders a spec to SVG that scales down to its container (its own size as the most). */
export async function render(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: "none" });
  try {
    const svg = await view.toSVG();
    return svg.replace(/^<svg([^>]*?) width="([\d.]+)" height="([\d.]+)"/, `<svg$1 width="100%" style="max-width:$2px;height:auto"`);
  } finally {
    view.finalize();
  }
}

const logOr = (log: boolean | undefined) => (log ? { type: "log" } : { zero: false });

/** The reference lines and their labels as layers (a horizontal line's label sits past its right end, a vertical one's at its top). */
function ruleLayers(rules: Rule[] | undefined): Layer[] {
  if (!rules?.length) return [];
  const ys = rules.filter((r): r is { y: number; label: string } => "y" in r && Number.isFinite(r.y) && r.y > 0);
  const xs = rules.filter((r): r is { x: number; label: string } => "x" in r && Number.isFinite(r.x));
  const out: Layer[] = [];
  const rule = { type: "rule", color: "#c00", strokeDash: [4, 3] };
  const text = { type: "text", color: "#c00", fontSize: 10, font: FONT };
  if (ys.length) {
    out.push({ data: { values: ys }, mark: rule, encoding: { y: { field: "y", type: "quantitative" } } });
    out.push({
      data: { values: ys },
      // outside the plot, to the right of the line's end: a label never sits on the data
      mark: { ...text, align: "left", baseline: "middle", x: "width", dx: 4 },
      encoding: { y: { field: "y", type: "quantitative" }, text: { field: "label" } },
    });
  }
  if (xs.length) {
    out.push({ data: { values: xs }, mark: { ...rule, color: "#777" }, encoding: { x: { field: "x", type: "quantitative" } } });
    out.push({
      data: { values: xs },
      mark: { ...text, color: "#555", align: "left", baseline: "top", y: 0, dx: 3 },
      encoding: { x: { field: "x", type: "quantitative" }, text: { field: "label" } },
    });
  }
  return out;
}

function spec(title: string, layers: Layer[], o: { width?: number; height?: number }): TopLevelSpec {
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: { text: title, font: FONT, fontSize: 13, fontWeight: "normal" },
    width: o.width ?? WIDTH,
    height: o.height ?? HEIGHT,
    background: "white",
    config: {
      font: FONT,
      legend: { orient: "bottom", labelLimit: 180, columns: 4 },
      axis: { labelFontSize: 10, titleFontSize: 11, titleFontWeight: "normal" },
    },
    layer: layers,
  } as unknown as TopLevelSpec; // the layers are built from plain objects: vega-lite checks them as it compiles
}

/**
 * Bars: one group per category, one bar per series within it. `log` draws the
 * y axis on a log scale (values <= 0 are left out there); `rules` are
 * horizontal reference lines.
 */
export function barChart(o: {
  title: string;
  yLabel: string;
  categories: string[];
  series: Array<{ name: string; values: Array<number | null> }>;
  log?: boolean;
  rules?: Rule[];
  width?: number;
}): Promise<string> {
  const rows: Row[] = o.series.flatMap((s) =>
    s.values.flatMap((v, i) => (v === null || !Number.isFinite(v) || (o.log && v <= 0) ? [] : [{ c: o.categories[i], s: s.name, v }])),
  );
  const bars: Layer = {
    data: { values: rows },
    mark: { type: "bar", tooltip: true },
    encoding: {
      x: { field: "c", type: "nominal", sort: o.categories, title: null, axis: { labelAngle: 0 } },
      xOffset: { field: "s", sort: o.series.map((s) => s.name) },
      y: { field: "v", type: "quantitative", title: o.yLabel, scale: logOr(o.log), stack: null },
      color: { field: "s", type: "nominal", sort: o.series.map((s) => s.name), title: null },
    },
  };
  return render(spec(o.title, [bars, ...ruleLayers(o.rules)], o));
}

/**
 * Lines over a shared x axis, a point at each value (so a series of one point
 * shows). `xLog`/`yLog`: that axis on a log scale (values <= 0 are left out);
 * `rules`: reference lines; `marks`: vertical lines at x (a start, an end).
 */
export function lineChart(o: {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  width?: number;
  height?: number;
  xLog?: boolean;
  yLog?: boolean;
  /** draw the points, not only the lines (off for long series such as a CDF) */
  points?: boolean;
  /** the line holds each value until the next x (a CDF, counts over time) */
  step?: boolean;
  marks?: Array<{ x: number; label: string }>;
  rules?: Rule[];
  /** a dashed vertical line per series, in its colour (a migration's end) */
  ends?: Array<{ name: string; x: number }>;
  /** a ring around one point of a series, in its colour (a pre-copy's stop-and-copy round) */
  callouts?: Array<{ name: string; x: number; y: number }>;
}): Promise<string> {
  const ok = (x: number, y: number) => Number.isFinite(x) && Number.isFinite(y) && (!o.xLog || x > 0) && (!o.yLog || y > 0);
  const rows: Row[] = o.series.flatMap((s) => s.points.filter(([x, y]) => ok(x, y)).map(([x, y]) => ({ s: s.name, x, y })));
  const line: Layer = {
    data: { values: rows },
    mark: { type: "line", point: o.points ?? true, strokeWidth: 1.5, tooltip: true, ...(o.step ? { interpolate: "step-after" } : {}) },
    encoding: {
      x: { field: "x", type: "quantitative", title: o.xLabel, scale: logOr(o.xLog) },
      y: { field: "y", type: "quantitative", title: o.yLabel, scale: logOr(o.yLog) },
      color: { field: "s", type: "nominal", sort: o.series.map((s) => s.name), title: null },
    },
  };
  const color = line.encoding && (line.encoding as Record<string, unknown>).color;
  const extra: Layer[] = [];
  if (o.ends?.length) {
    extra.push({
      data: { values: o.ends.filter((e) => ok(e.x, 1)).map((e) => ({ s: e.name, x: e.x })) },
      mark: { type: "rule", strokeDash: [5, 3], strokeWidth: 1.2 },
      encoding: { x: { field: "x", type: "quantitative" }, color },
    });
  }
  if (o.callouts?.length) {
    extra.push({
      data: { values: o.callouts.filter((c) => ok(c.x, c.y)).map((c) => ({ s: c.name, x: c.x, y: c.y })) },
      mark: { type: "point", size: 160, strokeWidth: 2, filled: false },
      encoding: { x: { field: "x", type: "quantitative" }, y: { field: "y", type: "quantitative" }, color },
    });
  }
  const marks: Rule[] = (o.marks ?? []).map((m) => ({ x: m.x, label: m.label }));
  return render(spec(o.title, [line, ...extra, ...ruleLayers([...marks, ...(o.rules ?? [])])], o));
}

/**
 * Stacked steps over a shared x axis: at each x, the series' values piled up
 * (the first at the bottom), each held until the next x (counts sampled in
 * time, such as the processes on each node). `xMax`/`yMax`: the axes' ends,
 * so that charts side by side share one scale.
 */
export function stackedChart(o: {
  title: string;
  xLabel: string;
  yLabel: string;
  x: number[];
  series: Array<{ name: string; values: number[] }>;
  width?: number;
  height?: number;
  xMax?: number;
  yMax?: number;
}): Promise<string> {
  const rows: Row[] = o.series.flatMap((s, order) => o.x.map((x, k) => ({ s: s.name, order, x, v: s.values[k] ?? 0 })));
  const top = Math.max(o.yMax ?? 1, ...o.x.map((_, k) => o.series.reduce((a, s) => a + (s.values[k] ?? 0), 0)));
  const area: Layer = {
    data: { values: rows },
    mark: { type: "area", interpolate: "step-after", opacity: 0.85 },
    encoding: {
      x: { field: "x", type: "quantitative", title: o.xLabel, scale: { domain: [0, Math.max(o.xMax ?? 0, ...o.x, 1)] } },
      y: { field: "v", type: "quantitative", stack: "zero", title: o.yLabel, scale: { domain: [0, top], nice: true } },
      color: { field: "s", type: "nominal", sort: o.series.map((s) => s.name), title: null },
      order: { field: "order" },
    },
  };
  return render(spec(o.title, [area], o));
}

/**
 * A timeline: one lane per row, each step a bar from its start to its end,
 * coloured by its kind (a tooltip gives its name and length).
 */
export function timelineChart(o: {
  title: string;
  xLabel: string;
  steps: Array<{ lane: string; name: string; kind: string; start: number; end: number }>;
  width?: number;
  height?: number;
}): Promise<string> {
  const rows: Row[] = o.steps.map((s) => ({ ...s, ms: Math.round((s.end - s.start) * 100) / 100 }));
  const bars: Layer = {
    data: { values: rows },
    mark: { type: "bar", height: { band: 0.7 } },
    encoding: {
      y: { field: "lane", type: "nominal", title: null, sort: [...new Set(o.steps.map((s) => s.lane))] },
      x: { field: "start", type: "quantitative", title: o.xLabel },
      x2: { field: "end" },
      color: { field: "kind", type: "nominal", title: null, sort: [...new Set(o.steps.map((s) => s.kind))] },
      tooltip: [{ field: "name" }, { field: "ms", title: "ms" }],
    },
  };
  return render(spec(o.title, [bars], o));
}
