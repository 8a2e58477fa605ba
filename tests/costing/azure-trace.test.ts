// Real data: the Azure LLM inference trace (code, 2023-11-16; Patel et al., Splitwise, ISCA 2024, CC BY 4.0)
// as one customer's token usage, imported through the CLI, priced with `prices import`, recommended through
// the CLI, and every figure recomputed here from the trace file itself.
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { azureTraceToTokenUsageCsv } from '../support/azure-trace.js';
import { freshDatabase } from '../support/database.js';
import { root } from '../support/cli.js';
import { cli, cliJson, expectClose, expectDesignShape, tempFolder, writeJson } from './helpers.js';
import { nearestRank, recompute } from './recompute.js';

// Every test runs the real CLI in a child process, which is slow on a busy machine.
vi.setConfig({ testTimeout: 120_000, hookTimeout: 300_000 });

const TRACE = '/work/shared/data/azure_llm_2023_code.csv';
const present = existsSync(TRACE);
const HOUR = 3_600_000;
const FROM = '2023-11-16T18:00:00Z';
const TO = '2023-11-16T20:00:00Z';
const MODEL = 'llama-3.1-70b';

if (!present) console.warn(`skipping the Azure trace tests: ${TRACE} is absent (the shared data folder is not mounted)`);

describe.skipIf(!present)(`the Azure LLM code trace (${TRACE})`, () => {
  let env: Record<string, string>;
  let book: any;
  let trace: string;

  beforeAll(async () => {
    const fresh = await freshDatabase();
    env = { DATABASE_URL: fresh.url };
    const folder = await tempFolder();
    trace = await readFile(TRACE, 'utf8');
    const csv = path.join(folder, 'azure-code.csv');
    await writeFile(csv, azureTraceToTokenUsageCsv(trace, { customer: 'azure-code', model: MODEL }));
    const requests = trace.trim().split('\n').length - 1;
    const ingested = await cliJson(env, ['ingest', 'file', '--kind', 'token-usage', csv, '--json']);
    expect(ingested).toMatchObject({ read: requests, stored: requests, rejected: 0, customers_created: ['azure-code'] });

    // The bundled book's prices, in force from before the trace.
    book = { ...JSON.parse(await readFile(path.join(root, 'seeds/default-price-book.json'), 'utf8')), name: 'azure-2023', effective_from: '2023-11-01T00:00:00Z' };
    await cliJson(env, ['prices', 'import', await writeJson(folder, 'book.json', book), '--json']);
  });

  it('recommend --json agrees with a recomputation from the trace file', async () => {
    const doc = await cliJson(env, ['recommend', '--customer', 'azure-code', '--gpu-type', 'H100', '--from', FROM, '--to', TO, '--json']);
    expectDesignShape(doc);

    // The trace, hour by hour: each line is one request (UTC time, context = input tokens, generated = output).
    const fromMs = Date.parse(FROM);
    const byHour = new Map<number, { input: number; output: number }>();
    for (const line of trace.trim().split('\n').slice(1)) {
      const [ts, input, output] = line.split(',');
      const hour = Math.floor(Date.parse(`${ts.replace(' ', 'T').slice(0, 23)}Z`) / HOUR) * HOUR;
      const h = byHour.get(hour) ?? { input: 0, output: 0 };
      h.input += Number(input);
      h.output += Number(output);
      byHour.set(hour, h);
    }
    expect([...byHour.keys()].sort()).toEqual([fromMs, fromMs + HOUR]);
    const tokens = [...byHour].map(([hour, t]) => ({
      hour, model: MODEL, input_tokens: t.input, cached_input_tokens: 0, cache_write_input_tokens: 0, output_tokens: t.output,
    }));
    const x = recompute({ fromMs, hours: 2, gpuType: 'H100', book, telemetry: [], tokens });

    // d(h) = (input/9000 + output/750)/3600/0.8 (llama-3.1-70b on H100), both hours have traffic
    for (const [hour, t] of byHour) {
      expectClose(x.demand[(hour - fromMs) / HOUR], (t.input / 9000 + t.output / 750) / 3600 / 0.8, 'demand formula');
    }
    expect(doc.demand.hours_without_data).toBe(0);
    expectClose(doc.demand.mean_gpus, (x.demand[0] + x.demand[1]) / 2, 'mean');
    expectClose(doc.demand.peak_gpus, Math.max(...x.demand), 'peak');
    expectClose(doc.demand.p50_gpus, nearestRank(x.demand, 50), 'p50');
    // API: together_ai ($0.88 in and out) is cheaper than fireworks_ai ($0.90) for every hour's tokens
    const allTokens = [...byHour.values()].reduce((s, t) => s + t.input + t.output, 0);
    expectClose(x.allApi, (allTokens * 0.88) / 1e6, 'api formula');
    expectClose(doc.all_api_usd, x.allApi, 'all API');
    // on-demand: the lower of northwind-gpu $3.49 and tailspin-cloud $3.19
    expect(x.o).toBe(3.19);
    expectClose(doc.all_on_demand_usd, x.allOnDemand, 'all on-demand');
    expect(doc.current).toBeNull();

    // Every reserved offer's curve, by brute force over block multiples
    for (const offer of x.offers) {
      const mine = doc.offers.find((o: any) => o.provider === offer.provider && o.term_days === offer.term_days);
      expect(mine.gpus).toBe(offer.best.gpus);
      expectClose(mine.cost_usd, offer.best.cost, `${offer.provider} ${offer.term_days}d`);
    }
    expectClose(doc.best.cost_usd, x.best.cost, 'best');
    expect(doc.best.gpus).toBe(x.best.gpus);
    const bestOffer = x.offers.find((o) => o.provider === doc.best.provider && o.term_days === doc.best.term_days)!;
    expect(doc.curve.map((p: any) => p.gpus)).toEqual(bestOffer.curve.map((p) => p.gpus));
    doc.curve.forEach((p: any, i: number) => expectClose(p.cost_usd, bestOffer.curve[i].cost, `curve[${i}]`));
    expectClose(doc.savings_vs_api_usd, x.allApi - x.best.cost, 'vs API');
    expectClose(doc.savings_vs_on_demand_usd, x.allOnDemand - x.best.cost, 'vs on-demand');
    expectClose(doc.best.break_even_fill, bestOffer.r / x.o, 'break-even');
    expect(doc.inputs.tokens).toMatchObject({ input_tokens: [...byHour.values()].reduce((s, t) => s + t.input, 0), requests: trace.trim().split('\n').length - 1 });
  });

  it('with API overflow, the all-API cost is what reserving nothing costs', async () => {
    const doc = await cliJson(env, ['recommend', '--customer', 'azure-code', '--gpu-type', 'H100', '--from', FROM, '--to', TO, '--overflow', 'api', '--json', '--no-save']);
    expect(doc.overflow).toBe('api');
    // RESERVED(0) = Σ_h (d − 0)/d · api(h) = API, every hour having demand
    expectClose(doc.curve[0].cost_usd, doc.all_api_usd, 'RESERVED(0)');
  });

  it('prints a readable summary', async () => {
    const result = await cli(env, ['recommend', '--customer', 'azure-code', '--gpu-type', 'H100', '--from', FROM, '--to', TO, '--no-save']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/All on the API: +\$\d+\.\d\d/);
  });
});
