/**
 * The reliability diagram as an SVG document: predicted confidence against observed frequency per equal-width bin,
 * before (the map in force) and after (the fitted map, cross-validated), the diagonal of perfect calibration, and
 * each bin's count under the plot. Written as text: the drawing is a few dozen elements, every value escaped.
 */
import type { ReliabilityBin } from './metrics.js';

/** Options of the diagram. */
export interface DiagramOptions {
  readonly widthPx?: number;
  readonly heightPx?: number;
  readonly title?: string;
}

/** Default size of the diagram. */
export const DEFAULT_DIAGRAM_SIZE = { widthPx: 520, heightPx: 480 } as const;

/** Escapes text for XML content and attributes. */
export function escapeXml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!,
  );
}

const fmt = (x: number): string => (Math.round(x * 100) / 100).toString();

const COLOURS = { before: '#d95f02', after: '#1b6ac9', diagonal: '#888888', axis: '#333333' } as const;

/** A reliability diagram of the bins before and after. */
export function reliabilityDiagramSvg(
  before: readonly ReliabilityBin[],
  after: readonly ReliabilityBin[],
  options: DiagramOptions = {},
): string {
  const width = options.widthPx ?? DEFAULT_DIAGRAM_SIZE.widthPx;
  const height = options.heightPx ?? DEFAULT_DIAGRAM_SIZE.heightPx;
  const margin = { left: 56, right: 16, top: 36, bottom: 84 };
  const plotW = width - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;
  const x = (v: number) => margin.left + v * plotW;
  const y = (v: number) => margin.top + (1 - v) * plotH;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
  );
  out.push(`<title>${escapeXml(options.title ?? 'Reliability diagram')}</title>`);
  out.push(`<rect x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`);
  out.push(
    `<text x="${width / 2}" y="20" text-anchor="middle" font-size="13">${escapeXml(options.title ?? 'Reliability diagram')}</text>`,
  );
  out.push(
    `<rect x="${margin.left}" y="${margin.top}" width="${plotW}" height="${plotH}" fill="none" stroke="${COLOURS.axis}"/>`,
  );
  for (let i = 0; i <= 5; i++) {
    const v = i / 5;
    out.push(
      `<line x1="${fmt(x(v))}" y1="${fmt(y(0))}" x2="${fmt(x(v))}" y2="${fmt(y(0) + 4)}" stroke="${COLOURS.axis}"/>`,
    );
    out.push(`<text x="${fmt(x(v))}" y="${fmt(y(0) + 15)}" text-anchor="middle">${v.toFixed(1)}</text>`);
    out.push(
      `<line x1="${fmt(x(0) - 4)}" y1="${fmt(y(v))}" x2="${fmt(x(0))}" y2="${fmt(y(v))}" stroke="${COLOURS.axis}"/>`,
    );
    out.push(`<text x="${fmt(x(0) - 7)}" y="${fmt(y(v) + 4)}" text-anchor="end">${v.toFixed(1)}</text>`);
  }
  out.push(
    `<line x1="${x(0)}" y1="${y(0)}" x2="${x(1)}" y2="${y(1)}" stroke="${COLOURS.diagonal}" stroke-dasharray="4 4"/>`,
  );
  out.push(`<text x="${width / 2}" y="${fmt(y(0) + 30)}" text-anchor="middle">predicted confidence</text>`);
  out.push(
    `<text x="14" y="${fmt(margin.top + plotH / 2)}" text-anchor="middle" transform="rotate(-90 14 ${fmt(margin.top + plotH / 2)})">observed frequency of right actions</text>`,
  );
  for (const [name, bins] of [
    ['before', before],
    ['after', after],
  ] as const) {
    const filled = bins.filter((b) => b.count > 0 && b.meanPredicted !== null && b.observed !== null);
    if (filled.length > 1) {
      const path = filled.map((b) => `${fmt(x(b.meanPredicted!))},${fmt(y(b.observed!))}`).join(' ');
      out.push(`<polyline points="${path}" fill="none" stroke="${COLOURS[name]}" stroke-width="1.5"/>`);
    }
    for (const b of filled) {
      out.push(
        `<circle cx="${fmt(x(b.meanPredicted!))}" cy="${fmt(y(b.observed!))}" r="3.5" fill="${COLOURS[name]}"><title>${name}: ${b.count} point(s) in [${b.lower.toFixed(1)}, ${b.upper.toFixed(1)}), predicted ${b.meanPredicted!.toFixed(3)}, observed ${b.observed!.toFixed(3)}</title></circle>`,
      );
    }
  }
  // Bin counts, one row each for before and after, under the axis.
  const rows: [string, readonly ReliabilityBin[]][] = [
    ['n before', before],
    ['n after', after],
  ];
  rows.forEach(([label, bins], r) => {
    const rowY = y(0) + 48 + r * 14;
    out.push(
      `<text x="${fmt(x(0) - 7)}" y="${fmt(rowY)}" text-anchor="end" fill="${r === 0 ? COLOURS.before : COLOURS.after}">${label}</text>`,
    );
    for (const b of bins) {
      out.push(
        `<text x="${fmt(x((b.lower + b.upper) / 2))}" y="${fmt(rowY)}" text-anchor="middle" class="bin-count">${b.count}</text>`,
      );
    }
  });
  out.push(`<g transform="translate(${margin.left + 8},${margin.top + 8})">`);
  out.push(`<circle cx="5" cy="0" r="3.5" fill="${COLOURS.before}"/><text x="14" y="4">before (map in force)</text>`);
  out.push(
    `<circle cx="5" cy="16" r="3.5" fill="${COLOURS.after}"/><text x="14" y="20">after (fitted, cross-validated)</text>`,
  );
  out.push(`</g>`);
  out.push('</svg>');
  return out.join('\n');
}
