// The bulk path of a sample file import, in the run's transaction. Rows are encoded into COPY's binary
// format as they are parsed (no per-row objects kept) and sent in batches of a few MB while the next batch is
// parsed. A day that already has a partition takes its rows through the staging table and
// `INSERT … ON CONFLICT DO NOTHING` (storeGpuSamples' path). A day without one — a backfill, the bulk of any
// large file — is COPYed into a plain table named as its partition will be, which is then attached (foreign
// keys checked in one query each) and gets its key after the commit (per-row index and foreign-key work is
// what made row-at-a-time loading slow, and the key's sort cost as much as the COPY). The new days' hourly
// rollups are summed as the rows pass (StreamingGpuRollup), so only hours next to stored days, or touched by a
// GPU whose samples go back in time, are left to the SQL recompute. See docs/decisions/010-ingestion-files.md
// and 032-sample-keys-per-day.md.
import type { Db } from '../../../db/client.js';
import { BinaryCopyWriter } from '../../../db/queries/ingestion-copy.js';
import {
  copyAndInsertSamples,
  copyIntoBulkDay,
  createBulkDayTable,
  finishBulkDay,
  lockGpuSamples,
  bulkLoadSortSettings,
  samplePartitionDays,
  utcDay,
} from '../../../db/queries/samples.js';
import { sampleFieldsProblem, type RowProblem, type SampleRow } from '../../domain/ingest/rows.js';
import { StreamingGpuRollup, type StreamedGpuHour } from '../../domain/ingest/streaming-rollup.js';
import type { TouchedKeys } from './store.server.js';

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
const FIELDS = 9;

/** A value for a `real` column: float4 refuses values that underflow to zero, so tiny values are stored as 0. */
function real(value: number): number {
  const f = Math.fround(value);
  return Math.abs(f) < 1.1754943508222875e-38 ? 0 : f;
}

/** A sample as the loader takes it: the time as epoch ms (no Date per row). */
export type LoaderSample = Omit<SampleRow, 'ts' | 'line' | 'raw'> & { tsMs: number };

/** 2000-01-01 to 2100-01-01: the times binary COPY is written for here (and the parsers accept). */
const MIN_MS = Date.UTC(2000, 0, 1);
const MAX_MS = Date.UTC(2100, 0, 1);

function encode(w: BinaryCopyWriter, r: LoaderSample, sourceId: number | null): void {
  w.row(FIELDS).int8(r.customerId).text(r.gpuUuid).timestamptz(r.tsMs).int8(r.gpuTypeId).float4(real(r.utilizationPct));
  w.float4(r.memoryUsedMib === null ? null : real(r.memoryUsedMib)).float4(r.powerW === null ? null : real(r.powerW)).text(r.hostname);
  if (sourceId === null) w.null();
  else w.int8(sourceId);
}

export class SampleBulkLoader {
  /** Rows newly stored and rows whose key was there already (or repeated in the file). */
  stored = 0;
  duplicates = 0;
  private bulkRows = 0;
  private readonly bulkDays = new Map<number, { day: string; created: boolean; writer: BinaryCopyWriter }>();
  private staging: BinaryCopyWriter;
  private pending: Promise<void> = Promise.resolve();
  private failure: unknown = null;
  /** The hourly rollups of the new days' rows, summed as they are encoded (see streaming-rollup.ts). */
  private readonly rollup: StreamingGpuRollup;

  private constructor(
    private readonly trx: Db,
    private readonly existingDays: Set<string>,
    private readonly opts: { sourceId: number | null; touched: TouchedKeys; maxGapMs: number; batchBytes: number },
  ) {
    this.staging = this.writer();
    this.rollup = new StreamingGpuRollup(opts.maxGapMs);
  }

  /** Writers whose batch has been sent, for reuse: the memory of two batches is all the loader holds. */
  private spare: BinaryCopyWriter[] = [];
  private sent: BinaryCopyWriter[] = [];
  /** Days (epoch-day numbers) seen to have a partition: their rows go through staging. */
  private readonly stagedDays = new Set<number>();

  /** Room for a whole batch: no copying as it fills. */
  private writer(): BinaryCopyWriter {
    const w = this.spare.pop();
    if (w) {
      w.reset();
      return w;
    }
    return new BinaryCopyWriter(Math.min(this.opts.batchBytes, 64 << 20) + 65_536);
  }

  /** Takes the sample writers' lock and notes which days have a partition already. */
  static async begin(trx: Db, opts: { sourceId: number | null; touched: TouchedKeys; maxGapMs: number; batchBytes?: number }): Promise<SampleBulkLoader> {
    await lockGpuSamples(trx);
    await bulkLoadSortSettings(trx);
    return new SampleBulkLoader(trx, await samplePartitionDays(trx), { ...opts, batchBytes: opts.batchBytes ?? 4 << 20 });
  }

  private get bufferedBytes(): number {
    let n = this.staging.size;
    for (const d of this.bulkDays.values()) n += d.writer.size;
    return n;
  }

  /** True when enough rows are encoded to send a batch (flush). */
  get due(): boolean {
    return this.bufferedBytes >= this.opts.batchBytes;
  }

  /** Encodes a row for the next batch, or says why it cannot be stored. */
  add(row: LoaderSample): RowProblem | null {
    const ms = row.tsMs;
    if (!(ms >= MIN_MS && ms < MAX_MS)) return { field: 'timestamp', reason: 'is outside 2000–2100' };
    const problem = sampleFieldsProblem(row);
    if (problem) return problem;
    const dayIndex = Math.floor(ms / DAY_MS);
    let bulk = this.bulkDays.get(dayIndex);
    if (!bulk && !this.stagedDays.has(dayIndex)) {
      const day = utcDay(dayIndex * DAY_MS);
      if (this.existingDays.has(day)) this.stagedDays.add(dayIndex);
      else {
        bulk = { day, created: false, writer: this.writer() };
        this.bulkDays.set(dayIndex, bulk);
      }
    }
    if (bulk) {
      // Every row of a new day is new, and is summed into its hour here; a row repeating its series' latest
      // key is not sent at all (the first one stays, as the primary key would have it), so the day holds no
      // repeated key unless a series went back in time.
      if (!this.rollup.add(row.customerId, row.gpuUuid, row.gpuTypeId, ms, real(row.utilizationPct))) {
        this.duplicates++;
        return null;
      }
      encode(bulk.writer, row, this.opts.sourceId);
      this.bulkRows++;
    } else {
      encode(this.staging, row, this.opts.sourceId);
    }
    return null;
  }

  /** Sends the encoded rows; the previous batch is awaited first, this one runs while parsing goes on. */
  async flush(): Promise<void> {
    await this.pending;
    if (this.failure) throw this.failure;
    // The previous batch is in the database: its writers can be filled again.
    this.spare.push(...this.sent);
    this.sent = [];
    let staged: Buffer | null = null;
    if (this.staging.rows > 0) {
      staged = this.staging.finish();
      this.sent.push(this.staging);
      this.staging = this.writer();
    }
    const days: { day: { day: string; created: boolean }; data: Buffer }[] = [];
    for (const d of this.bulkDays.values()) {
      if (d.writer.rows === 0) continue;
      days.push({ day: d, data: d.writer.finish() });
      this.sent.push(d.writer);
      d.writer = this.writer();
    }
    const trx = this.trx;
    this.pending = (async () => {
      for (const { day, data } of days) {
        if (!day.created) {
          await createBulkDayTable(trx, day.day);
          day.created = true;
        }
        await copyIntoBulkDay(trx, day.day, data);
      }
      if (staged) {
        const { staged: n, inserted } = await copyAndInsertSamples(trx, { binary: staged }, { sourceId: this.opts.sourceId, maxGapMs: this.opts.maxGapMs });
        let stored = 0;
        for (const r of inserted) {
          stored += r.rows;
          this.opts.touched.addGpuHours(r.customerId, r.fromHour.getTime(), r.toHour.getTime());
        }
        this.stored += stored;
        this.duplicates += n - stored;
      }
    })().catch((error) => {
      this.failure = error;
    });
  }

  /**
   * Sends what is left and turns the new days into partitions; `keyless` counts those attached without their
   * key (the caller queues its build). Rollups are the caller's (refreshRollups).
   */
  async finish(): Promise<{ stored: number; duplicates: number; keyless: number }> {
    await this.flush();
    await this.pending;
    if (this.failure) throw this.failure;
    // Rows of series that stayed in time order repeat no key once each series' repeats are dropped (add):
    // the new days are attached without their key, built after the commit (ensureSampleKeys). A series that
    // went back in time may repeat an older key: then the keys are built here, removing the repeats.
    const key = this.rollup.hoursForSql.size > 0;
    let duplicates = 0;
    let keyless = 0;
    for (const d of this.bulkDays.values()) {
      if (!d.created) continue;
      duplicates += await finishBulkDay(this.trx, d.day, { key });
      if (!key) keyless++;
    }
    this.stored += this.bulkRows - duplicates;
    this.duplicates += duplicates;
    this.handOverRollups();
    return { stored: this.stored, duplicates: this.duplicates, keyless };
  }

  /**
   * Gives `touched` the hours the new days' rows changed: summed here where that is exact, else for the SQL
   * rollup. A streamed hour is exact when every stored sample its figures depend on — those in
   * [hour − max_gap, hour + 1 h + max_gap) — came from this file in series order: its window meets no day that
   * had a partition before the run (those may hold other rows), and no disordered series touched it.
   */
  private handOverRollups(): void {
    const gap = this.opts.maxGapMs;
    const touched = this.opts.touched;
    this.rollup.close();
    for (const [customerId, hours] of this.rollup.hoursForSql) for (const h of hours) touched.addGpuHours(customerId, h, h);
    const streamed = new Map<number, Map<number, StreamedGpuHour[]>>();
    for (const [customerId, hours] of this.rollup.touched) {
      const sqlHours = this.rollup.hoursForSql.get(customerId);
      let mine: Map<number, StreamedGpuHour[]> | undefined;
      for (const h of hours) {
        if (sqlHours?.has(h) || this.existingDays.has(utcDay(h - gap)) || this.existingDays.has(utcDay(h + HOUR_MS + gap - 1))) {
          touched.addGpuHours(customerId, h, h);
          continue;
        }
        if (!mine) streamed.set(customerId, (mine = new Map()));
        mine.set(h, []);
      }
    }
    for (const row of this.rollup.rows()) streamed.get(row.customerId)?.get(row.hour)?.push(row);
    for (const [customerId, hours] of streamed) for (const [hour, rows] of hours) touched.addStreamedGpuHour(customerId, hour, rows);
  }
}
