// PostgreSQL restarted (`pg_ctl restart -m fast`: every session ended) while the real `breakeven ingest file`
// imports a file. The import must fail cleanly (exit status ≠ 0, one line, no stack trace) or complete, and
// importing the file again must leave every row stored exactly once. The server is this file's own
// (tests/reliability/helpers.ts): restarting the shared test server would break the files running beside it.
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { cleanUp, expectCleanFailure, privatePostgres, tempFolder, waitUntil, writeSampleFile, type PrivatePostgres } from './helpers.js';

afterAll(cleanUp, 120_000);

let pgServer: PrivatePostgres;
let folder: string;

beforeAll(async () => {
  folder = await tempFolder('breakeven-restart-ingest-');
  pgServer = await privatePostgres(path.join(folder, 'pg'));
}, 120_000);

/** Restarts the server once `ready` says the work is visibly under way, and returns when it is back. */
async function restartWhen(what: string, ready: () => Promise<boolean>): Promise<void> {
  await waitUntil(what, async () => ((await ready()) ? true : undefined), 90_000, 20);
  await pgServer.restart();
}

describe('PostgreSQL restarted during a file import', () => {
  it('the import fails cleanly or completes; re-running it stores every row exactly once', async () => {
    const file = path.join(folder, 'samples.csv');
    // 4 GPUs × 3 days of 15-second samples = 4 × 17,280 = 69,120 rows: a few seconds of import, enough to cut into.
    const gpus = Array.from({ length: 4 }, (_, i) => ({ uuid: `GPU-restart-${i}`, customer: 'restart-co', gpuType: 'H100' }));
    const rows = await writeSampleFile(file, { from: new Date('2026-11-01T00:00:00Z'), samplesPerGpu: 3 * 5760, gpus });
    expect(rows).toBe(69_120);
    const env = { DATABASE_URL: pgServer.url };

    const first = runCli(['ingest', 'file', '--kind', 'gpu-samples', file], { env });
    // The run row is written before the import's transaction opens: once it is `running`, rows are streaming in.
    await restartWhen('the import to be running', async () => {
      const { rows: running } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM ingestion_runs WHERE status = 'running'`.execute(pgServer.db);
      return running[0].n > 0;
    });
    const interrupted = await first;
    if (interrupted.code !== 0) {
      expectCleanFailure(interrupted, 'ingest file');
      expect(interrupted.stderr).toMatch(/lost the connection to the database/);
    }
    // However it ended, the first run does not stay `running`: a failure is recorded once the database is back.
    const { rows: firstRun } = await sql<{ status: string }>`SELECT status FROM ingestion_runs ORDER BY id LIMIT 1`.execute(pgServer.db);
    expect(firstRun[0].status).toBe(interrupted.code === 0 ? 'succeeded' : 'failed');

    const again = await runCli(['ingest', 'file', '--kind', 'gpu-samples', file, '--json'], { env });
    expect(again.stderr).toBe('');
    expect(again.code).toBe(0);
    // Whether the first import committed or not, the file's rows are there once each: 69,120.
    const { rows: counted } = await sql<{ n: number; distinct_keys: number }>`
      SELECT count(*)::int AS n, count(DISTINCT (gpu_uuid, ts))::int AS distinct_keys
      FROM gpu_samples s JOIN customers c ON c.id = s.customer_id WHERE c.slug = 'restart-co'`.execute(pgServer.db);
    expect(counted[0]).toEqual({ n: rows, distinct_keys: rows });
    // The rollups hold every sample once too: 3 days × 24 h = 72 hours per GPU, 4 GPUs, each hour fully covered
    // except the very last sample of each GPU, which stands for nothing (DESIGN.md): 4 × (72 × 3600 − 15) s.
    const { rows: rollup } = await sql<{ allocated: number }>`
      SELECT sum(allocated_gpu_seconds)::float8 AS allocated FROM hourly_gpu_usage h JOIN customers c ON c.id = h.customer_id
      WHERE c.slug = 'restart-co'`.execute(pgServer.db);
    expect(rollup[0].allocated).toBeCloseTo(4 * (72 * 3600 - 15), 6);
  });
});
