// Prometheus's /api/v1/query_range, one bounded window at a time.
import { parseMatrix, PROMETHEUS_MAX_POINTS, type PromSeries } from '../../domain/connectors/index.js';
import { ConnectorError, fetchJson, type FetchOptions } from './http.server.js';

/** `base` + path, keeping a path prefix the base may have (Prometheus behind /prometheus/). */
export function endpoint(base: string, path: string): URL {
  const url = new URL(base);
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/${path.replace(/^\/+/, '')}`;
  url.search = '';
  return url;
}

export interface RangeQuery {
  query: string;
  /** Epoch ms, both ends inclusive (Prometheus evaluates at start, start + step, … ≤ end). */
  start: number;
  end: number;
  stepSeconds: number;
}

/** Evaluates a PromQL expression over [start, end] at every step; refuses a window Prometheus would refuse. */
export async function queryRange(baseUrl: string, q: RangeQuery, options: FetchOptions): Promise<PromSeries[]> {
  const points = Math.floor((q.end - q.start) / (q.stepSeconds * 1_000)) + 1;
  if (points > PROMETHEUS_MAX_POINTS) throw new ConnectorError(`a window of ${points} points per series exceeds Prometheus's limit of ${PROMETHEUS_MAX_POINTS}`, false);
  const url = endpoint(baseUrl, 'api/v1/query_range');
  url.searchParams.set('query', q.query);
  url.searchParams.set('start', (q.start / 1_000).toFixed(3));
  url.searchParams.set('end', (q.end / 1_000).toFixed(3));
  url.searchParams.set('step', `${q.stepSeconds}s`);
  const body = await fetchJson(url.toString(), options);
  const parsed = parseMatrix(body);
  if (!parsed.ok) throw new ConnectorError(`Prometheus at ${endpoint(baseUrl, '').toString()} answered ${parsed.error}`, false);
  return parsed.series;
}
