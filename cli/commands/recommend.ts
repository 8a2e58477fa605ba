import { formatPercent, formatUsd } from '../../app/lib/format.js';
import type { CostingDocument } from '../../app/services/costing/evaluate.js';
import { parseWindow, WindowError } from '../../app/services/costing/window.js';
import { oneOf, UsageError, type Command } from '../framework.js';

const gpus = (n: number) => n.toFixed(2);

/** The readable form of a recommend document: money with cents, shares in percent. */
export function describeRecommendation(d: CostingDocument): string[] {
  const lines: string[] = [];
  const who = d.scope.customer !== null ? `Customer ${d.scope.customer}` : `Pool ${d.scope.pool}`;
  lines.push(`${who} on ${d.gpu_type}, ${d.from} – ${d.to} (${d.hours} h), overflow to ${d.overflow === 'api' ? 'the API' : 'on-demand GPUs'}`);
  lines.push(
    `Demand: mean ${gpus(d.demand.mean_gpus)} GPUs, p50 ${gpus(d.demand.p50_gpus)}, p95 ${gpus(d.demand.p95_gpus)}, ` +
      `peak ${gpus(d.demand.peak_gpus)}; ${d.demand.hours_without_data} hour(s) without data`,
  );
  lines.push(`  from telemetry in ${d.inputs.hours.telemetry} h, from tokens in ${d.inputs.hours.tokens} h`);
  const o = d.inputs.observed_throughput;
  if (o && o.profile_over_observed !== null) {
    lines.push(
      `  calibration (${o.hours} h with both): ${Math.round(o.input_tokens_per_busy_gpu_second ?? 0)} uncached input and ` +
        `${Math.round(o.output_tokens_per_busy_gpu_second ?? 0)} output tokens per busy GPU-second; ` +
        `the profiles predict ${o.profile_over_observed.toFixed(2)}× the measured busy time`,
    );
  }
  lines.push('');
  lines.push(`All on the API:        ${formatUsd(d.all_api_usd)}`);
  lines.push(`All on-demand GPUs:    ${d.all_on_demand_usd === null ? '— (no on-demand price in force)' : formatUsd(d.all_on_demand_usd)}`);
  lines.push(
    d.current
      ? `Current reservations:  ${formatUsd(d.current.cost_usd)} (${d.current.gpus} GPUs now, fill ${formatPercent(d.current.fill)}, idle ${formatUsd(d.current.idle_cost_usd)})`
      : 'Current reservations:  none',
  );
  const b = d.best;
  if (!b) {
    lines.push('Recommended:           nothing to reserve (no reserved offer)');
    return lines;
  }
  lines.push(
    `Recommended:           ${formatUsd(b.cost_usd)} with ${b.gpus} × ${d.gpu_type} from ${b.provider} ` +
      `(${b.term_days}-day term, blocks of ${b.block_size}, ${b.usd_per_gpu_hour === null ? '' : `${formatUsd(b.usd_per_gpu_hour)}/GPU-h`})`,
  );
  lines.push(`  fill ${formatPercent(b.fill)}, idle cost ${formatUsd(b.idle_cost_usd)}, break-even fill ${formatPercent(b.break_even_fill)}`);
  lines.push(
    `  saves ${formatUsd(d.savings_vs_api_usd ?? 0)} against the API` +
      (d.savings_vs_on_demand_usd === null ? '' : `, ${formatUsd(d.savings_vs_on_demand_usd)} against on-demand`),
  );
  if (d.change) lines.push(`  change: ${d.change.label}${d.current ? ' at renewal' : ''}`);
  if (d.stability) lines.push(`Stability (last ${d.stability.weeks.length} week(s)): ${d.stability.min_gpus}–${d.stability.max_gpus} GPUs`);
  if (d.risk_levels) {
    const r = d.risk_levels;
    lines.push(
      `Risk levels: floor ${r.floor.gpus} (${formatUsd(r.floor.cost_usd)}), balanced ${r.balanced.gpus} (${formatUsd(r.balanced.cost_usd)}), ` +
        `optimal ${r.optimal.gpus} (${formatUsd(r.optimal.cost_usd)})`,
    );
  }
  if (d.recent) {
    lines.push(
      d.recent.flagged
        ? `Warning: the last ${d.recent.hours} h support only ${d.recent.gpus} GPUs — recent demand no longer supports ${b.gpus}`
        : `The last ${d.recent.hours} h support it (optimum ${d.recent.gpus} GPUs)`,
    );
  }
  if (d.offers.length > 1) {
    lines.push('', 'Offers:');
    for (const o of d.offers) {
      lines.push(`  ${o.provider.padEnd(20)} ${String(o.term_days).padStart(4)} d  blocks of ${String(o.block_size).padEnd(3)} ${String(o.gpus).padStart(5)} GPUs  ${formatUsd(o.cost_usd)}`);
    }
  }
  if (d.aggregation) {
    const a = d.aggregation;
    lines.push('', `Pooling: ${formatUsd(a.pooled_optimum_usd)} for the pool against ${formatUsd(a.members_optimum_usd)} for its customers apart — aggregation saving ${formatUsd(a.saving_usd)}`);
    for (const m of a.members) lines.push(`  ${m.customer.padEnd(24)} alone: ${String(m.gpus).padStart(4)} GPUs  ${formatUsd(m.cost_usd)}`);
  }
  if (d.showback) {
    const s = d.showback;
    lines.push('', `Showback of the ${s.basis} reservation (${s.gpus} GPUs, ${formatUsd(s.total_cents / 100)}):`);
    for (const c of s.customers) {
      lines.push(`  ${c.customer.padEnd(24)} ${formatUsd(c.total_cents / 100).padStart(14)}  (used ${formatUsd(c.used_cents / 100)}, idle ${formatUsd(c.idle_cents / 100)})`);
    }
  }
  return lines;
}

export const recommendCommand: Command = {
  path: ['recommend'],
  summary: 'How many GPUs a customer or pool should reserve, with every scenario\'s cost over a window.',
  options: {
    customer: { type: 'string', description: 'the customer (slug)', placeholder: 'SLUG' },
    pool: { type: 'string', description: 'or the pool (name)', placeholder: 'NAME' },
    'gpu-type': { type: 'string', description: 'GPU type, e.g. H100', placeholder: 'T' },
    from: { type: 'string', description: 'window start: ISO date or time on a whole UTC hour', placeholder: 'ISO' },
    to: { type: 'string', description: 'window end (exclusive)', placeholder: 'ISO' },
    overflow: { type: 'string', description: 'demand above the reservation goes to on-demand or api', default: 'on-demand', placeholder: 'on-demand|api' },
    json: { type: 'boolean', description: 'print the recommend document (DESIGN.md) as JSON and nothing else' },
    'no-save': { type: 'boolean', description: 'do not store the recommendation' },
  },
  details: `
Each hour is costed with the prices in force then. Demand comes from GPU telemetry where it exists and from
token usage through the capacity profiles of the GPU type otherwise. When several providers offer on-demand
GPUs of the type, the lowest rate in force each hour is used; when several offer a model's API, each hour's
tokens go to the offer that prices them lowest. Amounts in --json are unrounded USD.

Example: breakeven recommend --customer acme --gpu-type H100 --from 2026-10-01 --to 2026-11-01 --json`,
  async run({ db, options, out }) {
    const customer = options.customer as string | undefined;
    const pool = options.pool as string | undefined;
    if ((customer === undefined) === (pool === undefined)) throw new UsageError('name either --customer SLUG or --pool NAME');
    for (const name of ['gpu-type', 'from', 'to']) {
      if (typeof options[name] !== 'string' || options[name] === '') throw new UsageError(`--${name} is required`);
    }
    const overflow = oneOf('overflow', options.overflow, ['on-demand', 'api'] as const) === 'api' ? 'api' : 'on_demand';
    let window;
    try {
      window = parseWindow(options.from as string, options.to as string);
    } catch (error) {
      if (error instanceof WindowError) throw new UsageError(error.message);
      throw error;
    }
    // Loaded here, not at start-up: every other command would pay for the engine's modules.
    const { CostingInputError, PricingError, recommendForScope } = await import('../../app/services/costing.server.js');
    const { saveRecommendation } = await import('../../app/services/recommendations.server.js');
    let result;
    try {
      result = await recommendForScope(db, { customer, pool, gpuType: options['gpu-type'] as string, ...window, overflow });
    } catch (error) {
      if (error instanceof CostingInputError || error instanceof PricingError || error instanceof WindowError) throw new UsageError(error.message);
      throw error;
    }
    const { document, record } = result;
    if (document.inputs.unprofiled_models.length) {
      out.warn(`no ${document.gpu_type} capacity profile for ${document.inputs.unprofiled_models.join(', ')}: those tokens add no demand`);
    }
    if (document.inputs.unpriced_models.length) {
      out.warn(`no API price for ${document.inputs.unpriced_models.join(', ')}: those tokens add no API cost`);
    }
    if (!options['no-save']) await saveRecommendation(db, record);
    if (out.wantsJson) return out.json(document);
    for (const line of describeRecommendation(document)) out.say(line);
  },
};
