import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { met, ratio, type Result } from './result.js';

const fmt = (v: number) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));

function cells(r: Result): string[] {
  const q = ratio(r);
  const m = met(r);
  return [
    r.row,
    r.metric,
    `${fmt(r.value)} ${r.unit === 'ratio' ? '/s' : r.unit}`.replace(
      /^(\d+(\.\d+)?) \/s$/,
      (_, n) => `${n}/s`,
    ),
    r.baseline ? `${fmt(r.baseline.value)} (${r.baseline.name})` : '',
    q === undefined ? '' : `${q.toFixed(2)}×`,
    r.target ? `${r.target.label}: ${m ? 'met' : 'NOT met'}` : '',
    r.note ?? '',
  ];
}

const HEAD = ['row', 'what', 'value', 'baseline (same run)', 'ratio', 'target', 'note'];

export function printTable(results: Result[]): void {
  const rows = [HEAD, ...results.map(cells)];
  const widths = HEAD.map((_, i) => Math.min(60, Math.max(...rows.map((r) => r[i].length))));
  for (const r of rows)
    process.stdout.write(
      `${r
        .map((c, i) => c.padEnd(widths[i]))
        .join('  ')
        .trimEnd()}\n`,
    );
}

function machine(): string {
  const model =
    readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s*:\s*(.+)/)?.[1] ?? 'unknown CPU';
  let kernel = '';
  try {
    kernel = execFileSync('uname', ['-sr'], { encoding: 'utf8' }).trim();
  } catch {
    // no uname
  }
  return `${cpus().length} cores (${model}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, ${kernel}, Node ${process.version}`;
}

/** bench/RESULTS.md: the table, the machine, how to run one row. */
export function writeMarkdown(path: string, results: Result[], rowsRun: string[]): void {
  const table = [HEAD, HEAD.map(() => '---'), ...results.map(cells)]
    .map((r) => `| ${r.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`)
    .join('\n');
  const targets = results.filter((r) => r.target);
  writeFileSync(
    path,
    `# driverkit benchmarks

Measured ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC on ${machine()}.
Rows run: ${rowsRun.join(', ')}. Every ratio is against a baseline measured in the same run
(these machines are shared and noisy; compare ratios, not absolute times). Lower is better
everywhere; throughput rows are shown as baseline calls/s ÷ driverkit calls/s.

![ratios](chart.svg)

${table}

Targets met: ${targets.filter((r) => met(r)).length} of ${targets.length}.
What each change bought, and the gap that is left: [docs/performance.md](../docs/performance.md).

## Running

\`npm run bench\` runs every row (a few minutes on 2 cores). One or more rows:
\`npm run bench -- latency\` (rows: ${rowsRun.join(', ')}).
The runner bundles \`bench/\` with esbuild into \`.cache/bench/\` and runs it with node.
`,
  );
}

/** bench/chart.svg: one bar per ratio, a line at 1× (the baseline). */
export function writeChart(path: string, results: Result[]): void {
  const bars = results.filter((r) => ratio(r) !== undefined);
  const w = 900;
  const rowH = 26;
  const left = 420;
  const max = Math.max(2, ...bars.map((r) => ratio(r)!));
  const scale = (v: number) => ((w - left - 60) * v) / max;
  const y0 = 40;
  const items = bars
    .map((r, i) => {
      const q = ratio(r)!;
      const y = y0 + i * rowH;
      const ok = met(r);
      const color = ok === false ? '#d9534f' : ok ? '#5cb85c' : '#5b8def';
      const label = `${r.row}: ${r.metric}`.slice(0, 62);
      return `<text x="${left - 8}" y="${y + 15}" text-anchor="end">${label.replace(/&/g, '&amp;').replace(/</g, '&lt;')}</text>
<rect x="${left}" y="${y + 3}" width="${scale(q).toFixed(1)}" height="${rowH - 8}" fill="${color}"/>
<text x="${left + scale(q) + 6}" y="${y + 15}">${q.toFixed(2)}×</text>`;
    })
    .join('\n');
  const h = y0 + bars.length * rowH + 30;
  writeFileSync(
    path,
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" font-family="sans-serif" font-size="12">
<rect width="${w}" height="${h}" fill="white"/>
<text x="10" y="22" font-size="15" font-weight="bold">driverkit vs its baselines (ratio, lower is better; green: target met, red: not met)</text>
${items}
<line x1="${left + scale(1)}" y1="${y0}" x2="${left + scale(1)}" y2="${h - 25}" stroke="#333" stroke-dasharray="4 3"/>
<text x="${left + scale(1)}" y="${h - 10}" text-anchor="middle">1× = baseline</text>
</svg>
`,
  );
}
