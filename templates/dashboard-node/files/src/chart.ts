// A bar chart as inline SVG: no JavaScript, no external files. All text is escaped.
import { html, type SafeHtml } from './html.ts';

export interface Bar {
  label: string;
  value: number;
}

export function barChart(bars: Bar[], title: string): SafeHtml {
  const width = 720;
  const rowHeight = 26;
  const labelWidth = 180;
  const valueWidth = 110;
  const height = Math.max(1, bars.length) * rowHeight + 10;
  if (bars.length === 0) {
    return html`<svg role="img" aria-label="${title}: no data" width="${width}" height="40"><text x="0" y="25">No data</text></svg>`;
  }
  const max = Math.max(...bars.map((b) => Math.abs(b.value)), 1);
  const scale = (width - labelWidth - valueWidth) / max;
  const fmt = new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 });
  return html`<svg role="img" aria-label="${title}" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" xmlns="http://www.w3.org/2000/svg">
<title>${title}</title>
${bars.map((b, i) => {
  const y = i * rowHeight + 5;
  const w = Math.max(1, Math.round(Math.abs(b.value) * scale));
  return html`<g>
  <text x="${labelWidth - 8}" y="${y + 17}" text-anchor="end" font-size="13">${b.label.length > 24 ? b.label.slice(0, 23) + '…' : b.label}</text>
  <rect x="${labelWidth}" y="${y}" width="${w}" height="${rowHeight - 6}" fill="${b.value < 0 ? '#c62828' : '#1565c0'}"></rect>
  <text x="${labelWidth + w + 6}" y="${y + 17}" font-size="13">${fmt.format(b.value)}</text>
</g>`;
})}
</svg>`;
}
