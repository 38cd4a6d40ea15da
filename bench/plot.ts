/**
 * A latency CDF as a standalone SVG, without dependencies: one line per
 * series on a log10 latency axis, with p50 and p99 marked, so bench reports
 * can show distributions rather than a few percentiles.
 *
 * @module
 */

/** One latency distribution to draw. */
export interface LatencySeries {
  readonly name: string;
  readonly samplesMs: readonly number[];
}

/** Options for {@linkcode latencyCdfSvg}. */
export interface PlotOptions {
  readonly title?: string;
  /** @default {720} */
  readonly width?: number;
  /** @default {420} */
  readonly height?: number;
}

const COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2"];
const MARGIN = { left: 56, right: 16, top: 36, bottom: 44 };

/** Draws the empirical CDF of each series (x: latency in ms, log10; y: 0–100 %). */
export function latencyCdfSvg(
  series: readonly LatencySeries[],
  options: PlotOptions = {},
): string {
  const { title = "Latency CDF", width = 720, height = 420 } = options;
  const plot = {
    x: MARGIN.left,
    y: MARGIN.top,
    w: width - MARGIN.left - MARGIN.right,
    h: height - MARGIN.top - MARGIN.bottom,
  };
  const sorted = series.map((s) => ({
    name: s.name,
    // Zero and negative latencies have no place on a log axis: clamp to 0.1 ms.
    ms: s.samplesMs.filter(Number.isFinite).map((v) => Math.max(v, 0.1)).sort((a, b) => a - b),
  }));
  const all = sorted.flatMap((s) => s.ms);
  const lo = Math.floor(Math.log10(all.length > 0 ? Math.min(...all) : 1));
  const hi = Math.max(lo + 1, Math.ceil(Math.log10(all.length > 0 ? Math.max(...all) : 10)));
  const x = (ms: number) => plot.x + ((Math.log10(ms) - lo) / (hi - lo)) * plot.w;
  const y = (fraction: number) => plot.y + (1 - fraction) * plot.h;
  const parts: string[] = [
    `<rect x="${plot.x}" y="${plot.y}" width="${plot.w}" height="${plot.h}" fill="none" stroke="#888"/>`,
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="15">${escapeXml(title)}</text>`,
    `<text x="${width / 2}" y="${height - 6}" text-anchor="middle">latency (ms, log scale)</text>`,
    `<text x="14" y="${plot.y + plot.h / 2}" text-anchor="middle" ` +
    `transform="rotate(-90 14 ${plot.y + plot.h / 2})">activations (%)</text>`,
  ];
  for (let decade = lo; decade <= hi; decade++) {
    const px = num(x(10 ** decade));
    parts.push(
      `<line x1="${px}" y1="${plot.y}" x2="${px}" y2="${plot.y + plot.h}" stroke="#eee"/>`,
      `<text x="${px}" y="${plot.y + plot.h + 16}" text-anchor="middle">${
        decadeLabel(decade)
      }</text>`,
    );
  }
  for (let percent = 0; percent <= 100; percent += 25) {
    const py = y(percent / 100);
    parts.push(
      `<line x1="${plot.x}" y1="${num(py)}" x2="${plot.x + plot.w}" y2="${
        num(py)
      }" stroke="#eee"/>`,
      `<text x="${plot.x - 6}" y="${num(py + 4)}" text-anchor="end">${percent}</text>`,
    );
  }
  sorted.forEach((s, i) => {
    const colour = COLOURS[i % COLOURS.length]!;
    const n = s.ms.length;
    // Steps of the empirical CDF: at each sample the curve rises by 1/n.
    const d = s.ms.map((ms, k) =>
      `${k === 0 ? "M" : "L"}${num(x(ms))},${num(y(k / n))}V${num(y((k + 1) / n))}`
    ).join("");
    parts.push(
      `<path d="${d}" fill="none" stroke="${colour}" stroke-width="1.5">` +
        `<title>${escapeXml(s.name)}</title></path>`,
    );
    for (const [label, p] of [["p50", 0.5], ["p99", 0.99]] as const) {
      if (n === 0) continue;
      const ms = s.ms[Math.min(n - 1, Math.floor(p * n))]!;
      parts.push(
        `<circle cx="${num(x(ms))}" cy="${num(y(p))}" r="3.5" fill="${colour}">` +
          `<title>${escapeXml(`${s.name} ${label}: ${ms} ms`)}</title></circle>`,
      );
    }
    const ly = plot.y + 14 + i * 16;
    const lx = plot.x + 10;
    parts.push(
      `<line x1="${lx}" y1="${ly - 4}" x2="${lx + 18}" y2="${
        ly - 4
      }" stroke="${colour}" stroke-width="2"/>`,
      `<text x="${lx + 24}" y="${ly}">${escapeXml(s.name)} (n=${n})</text>`,
    );
  });
  return `<?xml version="1.0" encoding="UTF-8"?>\n` +
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" ` +
    `viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">\n` +
    `<rect width="100%" height="100%" fill="white"/>\n` +
    parts.join("\n") + "\n</svg>\n";
}

/** Escapes text for XML content and attribute values. */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ENTITIES[c]!);
}

const ENTITIES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&apos;",
};

function decadeLabel(decade: number): string {
  return decade < 0 ? (10 ** decade).toFixed(-decade) : String(10 ** decade);
}

function num(v: number): string {
  return String(Math.round(v * 10) / 10);
}
