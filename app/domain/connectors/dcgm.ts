// dcgm-exporter series (from Prometheus) → GPU-utilization samples.
import type { RejectedRow } from '../ingest/rows.js';
import { customerFor, type CustomerChoice } from './customers.js';
import { pointValue, type PromSeries } from './prometheus.js';
import type { CustomerMapping } from './source-config.js';

export interface DcgmSample {
  ts: Date;
  gpuUuid: string;
  /** The vendor name (`modelName`, e.g. "NVIDIA L40S"), normalised to a GPU type when stored. */
  gpuModel: string;
  hostname: string | null;
  /** From the customer label; `none` when the series has no such label (a GPU assignment may still say). */
  customer: CustomerChoice;
  utilizationPct: number;
  /** The series and point, for the quarantine. */
  raw: string;
}

export interface DcgmOptions {
  customerLabel: string;
  mapping: CustomerMapping;
}

// DCGM_FI_PROF_GR_ENGINE_ACTIVE is a ratio averaged over the sample period and can overshoot 1 by rounding.
const RATIO_TOLERANCE = 0.01;

function describe(labels: Record<string, string>, ts: number | null, value: string | null): string {
  return JSON.stringify({ metric: labels, ...(ts === null ? {} : { ts: new Date(ts).toISOString(), value }) });
}

/**
 * Samples from the two utilization metrics of a window: utilization(t) = 100 · GR_ENGINE_ACTIVE(t) when the GPU
 * has that reading at t, else GPU_UTIL(t) (already a percentage).
 *
 * Why the preference: GPU_UTIL is the share of time *any* kernel ran, so one tiny kernel keeps it at 100 %;
 * GR_ENGINE_ACTIVE (a profiling metric, not on every GPU or exporter config) measures how busy the graphics
 * engine was, and the two disagree in real data. Choosing per reading keeps the result independent of how a
 * pull is cut into windows. Labels: `UUID` (required), `modelName` (required), `Hostname` or `hostname`, and
 * the configured customer label. A second reading of the same GPU at the same instant (another series) is
 * rejected, as are MIG instances (`GPU_I_ID`), which this product cannot cost as whole GPUs.
 */
export function dcgmSamples(engineActive: readonly PromSeries[], gpuUtil: readonly PromSeries[], options: DcgmOptions): { samples: DcgmSample[]; rejected: RejectedRow[] } {
  const samples: DcgmSample[] = [];
  const rejected: RejectedRow[] = [];
  const reject = (field: string | null, reason: string, raw: string) => rejected.push({ line: 0, field, reason, raw });
  const taken = new Map<string, boolean>(); // uuid \0 ts → came from GR_ENGINE_ACTIVE

  const take = (series: readonly PromSeries[], ratio: boolean) => {
    for (const s of series) {
      const l = s.labels;
      const metric = ratio ? 'DCGM_FI_PROF_GR_ENGINE_ACTIVE' : 'DCGM_FI_DEV_GPU_UTIL';
      if (!l.UUID) {
        reject('gpu_uuid', `${metric} series without a UUID label`, describe(l, null, null));
        continue;
      }
      if (!l.modelName) {
        reject('gpu_type', `${metric} series of ${l.UUID} without a modelName label`, describe(l, null, null));
        continue;
      }
      if (l.GPU_I_ID !== undefined && l.GPU_I_ID !== '') {
        reject('gpu_uuid', `MIG instance ${l.GPU_I_ID} of ${l.UUID}: MIG slices are not supported; this series was skipped`, describe(l, null, null));
        continue;
      }
      const customer = customerFor(l[options.customerLabel], options.mapping, false);
      if (customer.kind === 'invalid') {
        reject('customer', `${options.customerLabel}: ${customer.reason}`, describe(l, null, null));
        continue;
      }
      const hostname = l.Hostname || l.hostname || null;
      for (const [ts, text] of s.points) {
        const key = `${l.UUID}\u0000${ts}`;
        const previous = taken.get(key);
        // A GPU_UTIL reading where GR_ENGINE_ACTIVE answered is the alternative not chosen, not a row.
        if (previous === true && !ratio) continue;
        const raw = describe(l, ts, text);
        if (previous !== undefined) {
          reject('timestamp', `a second reading of ${l.UUID} at ${new Date(ts).toISOString()} (another series with the same UUID)`, raw);
          continue;
        }
        let value = pointValue(text);
        if (ratio) {
          if (!(value >= -RATIO_TOLERANCE && value <= 1 + RATIO_TOLERANCE)) {
            reject('utilization_pct', `${metric} ${text} is not a ratio between 0 and 1`, raw);
            continue;
          }
          value = Math.min(100, Math.max(0, value * 100));
        } else if (!(value >= 0 && value <= 100)) {
          reject('utilization_pct', `${metric} ${text} is outside 0–100 %`, raw);
          continue;
        }
        taken.set(key, ratio);
        samples.push({ ts: new Date(ts), gpuUuid: l.UUID, gpuModel: l.modelName, hostname, customer, utilizationPct: value, raw });
      }
    }
  };
  take(engineActive, true);
  take(gpuUtil, false);
  return { samples, rejected };
}
