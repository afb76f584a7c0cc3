// A real Prometheus server for the tests (Debian's `prometheus`, which .ci/run installs):
// started on a free loopback port with a throw-away database, scraping the given targets
// every 500 ms; stopped, and its folder removed, when the test ends.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onTestFinished } from 'vitest';
import { spawnUntil, waitFor } from './helpers.js';
import { freePort } from './free-port.js';

export const PROMETHEUS = '/usr/bin/prometheus';
export const PROMTOOL = '/usr/bin/promtool';
export const hasPrometheus = existsSync(PROMETHEUS) && existsSync(PROMTOOL);

export interface Prometheus {
  url: string;
  /** An instant PromQL query; its vector's samples as labels and numbers. */
  query(q: string): Promise<Array<{ metric: Record<string, string>; value: number }>>;
  /** Resolves once every target was scraped (successfully) after `since` (epoch ms). */
  scrapedAfter(since: number): Promise<void>;
}

/** Starts Prometheus scraping `targets` (HOST:PORT) as job "driverkit", with `ruleFiles` loaded. */
export async function startPrometheus(
  targets: string[],
  ruleFiles: string[] = [],
): Promise<Prometheus> {
  const dir = mkdtempSync(join(tmpdir(), 'driverkit-prometheus-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(
    join(dir, 'prometheus.yml'),
    JSON.stringify({
      global: { scrape_interval: '500ms', scrape_timeout: '400ms', evaluation_interval: '500ms' },
      rule_files: ruleFiles,
      scrape_configs: [{ job_name: 'driverkit', static_configs: [{ targets }] }],
    }),
  );
  const port = await freePort();
  await spawnUntil(
    PROMETHEUS,
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    /Server is ready to receive web requests/,
    { on: 'stderr' },
  );
  const url = `http://127.0.0.1:${port}`;
  const api = async (path: string) => {
    const res = await fetch(`${url}${path}`);
    const body = (await res.json()) as { status: string; data: any; error?: string };
    if (body.status !== 'success') throw new Error(`Prometheus ${path}: ${body.error}`);
    return body.data;
  };
  return {
    url,
    query: async (q) =>
      (await api(`/api/v1/query?query=${encodeURIComponent(q)}`)).result.map(
        (r: { metric: Record<string, string>; value: [number, string] }) => ({
          metric: r.metric,
          value: Number(r.value[1]),
        }),
      ),
    scrapedAfter: async (since) => {
      let last = '';
      await waitFor(
        async () => {
          const { activeTargets } = await api('/api/v1/targets');
          last = JSON.stringify(
            activeTargets.map((t: any) => [t.lastScrape, t.health, t.lastError]),
          );
          return (
            activeTargets.length === targets.length &&
            activeTargets.every(
              (t: { lastScrape: string; health: string }) =>
                t.health === 'up' && Date.parse(t.lastScrape) > since,
            )
          );
        },
        15_000,
        () => `a scrape of every target after ${new Date(since).toISOString()}; targets: ${last}`,
        100,
      );
    },
  };
}
