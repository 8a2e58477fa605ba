// FOCUS 1.2 conformance of /exports/focus.csv, written from the specification's column requirements (presence,
// types and formats, allowed values, nullability, the conditional rules of the commitment columns) and its
// invariants, on the demo; and its figures against the pages: the overview's "current" total, the reservations'
// cost in the period, a pool's showback and a customer's API cost.
import { parse } from 'csv-parse/sync';
import { beforeAll, describe, expect, it } from 'vitest';
import { loader as overviewLoader } from '../../app/routes/_index';
import { loader as poolLoader } from '../../app/routes/pools.$name';
import { loader as reservationsLoader } from '../../app/routes/reservations';
import { roundUnits } from '../../app/domain/rounding.js';
import { csvChunks } from '../../app/services/exports/csv.server.js';
import { focusExport } from '../../app/services/exports/focus.server.js';
import { loadCustomersTable } from '../../app/services/dashboard/customers.server.js';
import { runCli } from '../support/cli.js';
import { callLoader, demoApp, FROM_PARAM, PERIOD, TO_PARAM, WINDOW, type DemoApp } from '../dashboard/helpers.js';

/** The 57 columns of FOCUS 1.2 (Cost and Usage dataset). */
const FOCUS_1_2 = [
  'AvailabilityZone', 'BilledCost', 'BillingAccountId', 'BillingAccountName', 'BillingAccountType', 'BillingCurrency', 'BillingPeriodEnd',
  'BillingPeriodStart', 'CapacityReservationId', 'CapacityReservationStatus', 'ChargeCategory', 'ChargeClass', 'ChargeDescription',
  'ChargeFrequency', 'ChargePeriodEnd', 'ChargePeriodStart', 'CommitmentDiscountCategory', 'CommitmentDiscountId', 'CommitmentDiscountName',
  'CommitmentDiscountQuantity', 'CommitmentDiscountStatus', 'CommitmentDiscountType', 'CommitmentDiscountUnit', 'ConsumedQuantity',
  'ConsumedUnit', 'ContractedCost', 'ContractedUnitPrice', 'EffectiveCost', 'InvoiceId', 'InvoiceIssuerName', 'ListCost', 'ListUnitPrice',
  'PricingCategory', 'PricingCurrency', 'PricingCurrencyContractedUnitPrice', 'PricingCurrencyEffectiveCost', 'PricingCurrencyListUnitPrice',
  'PricingQuantity', 'PricingUnit', 'ProviderName', 'PublisherName', 'RegionId', 'RegionName', 'ResourceId', 'ResourceName', 'ResourceType',
  'ServiceCategory', 'ServiceName', 'ServiceSubcategory', 'SkuId', 'SkuMeter', 'SkuPriceDetails', 'SkuPriceId', 'SubAccountId',
  'SubAccountName', 'SubAccountType', 'Tags',
];

/** Columns that MUST NOT be null (Mandatory columns without null, and the recommended ChargeFrequency, which we fill). */
const NOT_NULL = [
  'BilledCost', 'BillingAccountId', 'BillingAccountName', 'BillingCurrency', 'BillingPeriodEnd', 'BillingPeriodStart', 'ChargeCategory',
  'ChargeDescription', 'ChargeFrequency', 'ChargePeriodEnd', 'ChargePeriodStart', 'ContractedCost', 'EffectiveCost', 'InvoiceIssuerName',
  'ListCost', 'ProviderName', 'PublisherName', 'ServiceCategory', 'ServiceName',
];
const DECIMALS = [
  'BilledCost', 'CommitmentDiscountQuantity', 'ConsumedQuantity', 'ContractedCost', 'ContractedUnitPrice', 'EffectiveCost', 'ListCost',
  'ListUnitPrice', 'PricingCurrencyContractedUnitPrice', 'PricingCurrencyEffectiveCost', 'PricingCurrencyListUnitPrice', 'PricingQuantity',
];
const DATETIMES = ['BillingPeriodEnd', 'BillingPeriodStart', 'ChargePeriodEnd', 'ChargePeriodStart'];
const ALLOWED: Record<string, string[]> = {
  ChargeCategory: ['Usage', 'Purchase', 'Tax', 'Credit', 'Adjustment'],
  ChargeClass: ['Correction'],
  ChargeFrequency: ['One-Time', 'Recurring', 'Usage-Based'],
  PricingCategory: ['Standard', 'Dynamic', 'Committed', 'Other'],
  CommitmentDiscountCategory: ['Spend', 'Usage'],
  CommitmentDiscountStatus: ['Used', 'Unused'],
  CapacityReservationStatus: ['Used', 'Unused'],
  ServiceCategory: [
    'AI and Machine Learning', 'Analytics', 'Business Applications', 'Compute', 'Databases', 'Developer Tools', 'Multicloud', 'Identity',
    'Integration', 'Internet of Things', 'Management and Governance', 'Media', 'Migration', 'Mobile', 'Networking', 'Security', 'Storage',
    'Web', 'Other',
  ],
};
/** FOCUS 1.2 ServiceSubcategory values of the AI and Machine Learning category. */
const AI_SUBCATEGORIES = ['AI Platforms', 'Bots', 'Generative AI', 'Machine Learning', 'Natural Language Processing', 'Other (AI and Machine Learning)'];

let t: DemoApp;
let body: string;
let rows: Record<string, string>[];

beforeAll(async () => {
  t = await demoApp();
  const response = await t.viewer.get(`/exports/focus.csv?${PERIOD}`);
  body = await response.text();
  expect(response.status, body.slice(0, 200)).toBe(200);
  expect(response.headers.get('content-disposition')).toBe(`attachment; filename="focus-${FROM_PARAM}-to-${TO_PARAM}.csv"`);
  const [header, ...data]: string[][] = parse(body);
  expect(header).toEqual(FOCUS_1_2);
  rows = data.map((r) => Object.fromEntries(header.map((h, i) => [h, r[i]])));
}, 180_000);

const isNull = (v: string) => v === '';
const cents = (v: string) => Math.round(Number(v) * 100);
const sum = (list: Record<string, string>[], column: string) => list.reduce((s, r) => s + cents(r[column]), 0);

describe('FOCUS 1.2 columns', () => {
  it('has rows for the demo’s customers, one UTC day each', () => {
    expect(rows.length).toBeGreaterThan(1000);
    for (const r of rows) expect(Date.parse(r.ChargePeriodEnd) - Date.parse(r.ChargePeriodStart)).toBe(86_400_000);
  });

  it('fills every mandatory column', () => {
    for (const r of rows) for (const c of NOT_NULL) expect(r[c], `${c} of ${JSON.stringify(r).slice(0, 200)}`).not.toBe('');
  });

  it('writes decimals as plain numbers, datetimes as ISO 8601 UTC, the currency as ISO 4217', () => {
    for (const r of rows) {
      for (const c of DECIMALS) if (!isNull(r[c])) expect(r[c], c).toMatch(/^-?\d+(\.\d+)?$/);
      for (const c of DATETIMES) expect(r[c], c).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
      expect(r.BillingCurrency).toMatch(/^[A-Z]{3}$/);
      expect(r.BillingCurrency).toBe('USD');
      // The charge period lies in the billing period, and starts before it ends.
      expect(r.ChargePeriodStart < r.ChargePeriodEnd).toBe(true);
      expect(r.BillingPeriodStart <= r.ChargePeriodStart && r.ChargePeriodEnd <= r.BillingPeriodEnd).toBe(true);
      // Key-value columns are JSON objects.
      for (const c of ['Tags', 'SkuPriceDetails']) if (!isNull(r[c])) expect(typeof JSON.parse(r[c]), c).toBe('object');
    }
  });

  it('uses only allowed values', () => {
    for (const r of rows) {
      for (const [c, allowed] of Object.entries(ALLOWED)) if (!isNull(r[c])) expect(allowed, `${c} = ${r[c]}`).toContain(r[c]);
      if (r.ServiceCategory === 'AI and Machine Learning') expect(AI_SUBCATEGORIES).toContain(r.ServiceSubcategory);
    }
  });

  it('follows the conditional rules of the commitment, quantity and price columns', () => {
    for (const r of rows) {
      const what = `${r.ChargeCategory} ${r.CommitmentDiscountId} ${r.CommitmentDiscountStatus}`;
      const hasCommitment = !isNull(r.CommitmentDiscountId);
      // CommitmentDiscountStatus: null when the id is null; not null when the id is set and the charge is Usage.
      if (!hasCommitment) expect(r.CommitmentDiscountStatus, what).toBe('');
      if (hasCommitment && r.ChargeCategory === 'Usage') expect(r.CommitmentDiscountStatus, what).not.toBe('');
      // Category, type, quantity and unit come with the id.
      for (const c of ['CommitmentDiscountCategory', 'CommitmentDiscountType', 'CommitmentDiscountName']) expect(isNull(r[c]), `${c}: ${what}`).toBe(!hasCommitment);
      if (hasCommitment) {
        // A positive quantity of CommitmentDiscountUnit for Usage and Purchase rows (not a correction).
        expect(Number(r.CommitmentDiscountQuantity), what).toBeGreaterThan(0);
        expect(r.CommitmentDiscountUnit, what).toBe('GPU-Hours');
      } else {
        expect(r.CommitmentDiscountQuantity, what).toBe('');
        expect(r.CommitmentDiscountUnit, what).toBe('');
      }
      // ConsumedQuantity/Unit: only on Usage rows that are not unused commitment.
      const consumed = r.ChargeCategory === 'Usage' && r.CommitmentDiscountStatus !== 'Unused';
      expect(isNull(r.ConsumedQuantity), `ConsumedQuantity: ${what}`).toBe(!consumed);
      expect(isNull(r.ConsumedUnit), `ConsumedUnit: ${what}`).toBe(!consumed);
      // A purchase that covers later charges has no effective cost; covered usage was billed by the purchase.
      if (r.ChargeCategory === 'Purchase') expect(Number(r.EffectiveCost), what).toBe(0);
      if (hasCommitment && r.ChargeCategory === 'Usage') expect(Number(r.BilledCost), what).toBe(0);
      // Unrelated charges (no commitment): EffectiveCost = BilledCost.
      if (!hasCommitment) expect(r.EffectiveCost, what).toBe(r.BilledCost);
      // Price × quantity = cost, to the cent.
      expect(Math.abs(Number(r.ListUnitPrice) * Number(r.PricingQuantity) - Number(r.ListCost)), `ListCost: ${what}`).toBeLessThanOrEqual(0.01 + 1e-6);
      expect(Math.abs(Number(r.ContractedUnitPrice) * Number(r.PricingQuantity) - Number(r.ContractedCost)), `ContractedCost: ${what}`).toBeLessThanOrEqual(0.01 + 1e-6);
      expect(isNull(r.PricingUnit)).toBe(false);
      // The customer is the sub-account; a pool's shared purchase is booked to the pool.
      expect(['Customer', 'Pool']).toContain(r.SubAccountType);
      if (r.SubAccountType === 'Pool') expect(r.ChargeCategory).toBe('Purchase');
    }
  });

  it('keeps FOCUS’s commitment invariant to the cent: Σ usage EffectiveCost = Σ purchase BilledCost = Used + Unused', () => {
    const ids = [...new Set(rows.map((r) => r.CommitmentDiscountId).filter((id) => id !== ''))];
    // In the period: the shared-h100 pool's, wonka's and (part of it) wayne's; the batch-a100 trial month had ended.
    expect(ids).toHaveLength(3);
    for (const id of ids) {
      const own = rows.filter((r) => r.CommitmentDiscountId === id);
      const usage = own.filter((r) => r.ChargeCategory === 'Usage');
      const purchases = own.filter((r) => r.ChargeCategory === 'Purchase');
      const used = usage.filter((r) => r.CommitmentDiscountStatus === 'Used');
      const unused = usage.filter((r) => r.CommitmentDiscountStatus === 'Unused');
      expect(purchases.length, id).toBeGreaterThan(0);
      expect(sum(usage, 'EffectiveCost'), id).toBe(sum(purchases, 'BilledCost'));
      expect(sum(used, 'EffectiveCost') + sum(unused, 'EffectiveCost'), id).toBe(sum(usage, 'EffectiveCost'));
      expect(used.every((r) => r.PricingCategory === 'Committed') && purchases.every((r) => r.ChargeFrequency === 'Recurring')).toBe(true);
    }
  });
});

describe('FOCUS figures against the pages', () => {
  it('adds up to the overview’s “current” total to the cent, billed and effective', async () => {
    const o = await callLoader(overviewLoader, t.viewer, `/?${PERIOD}`);
    expect(sum(rows, 'BilledCost')).toBe(roundUnits(o.totals.currentUsd));
    expect(sum(rows, 'EffectiveCost')).toBe(roundUnits(o.totals.currentUsd));
  });

  it('bills each reservation what /reservations says it commits in the period', async () => {
    const page = await callLoader(reservationsLoader, t.viewer, `/reservations?${PERIOD}`);
    for (const id of new Set(rows.map((r) => r.CommitmentDiscountId).filter((x) => x))) {
      const reservation = page.rows.find((r: { id: number }) => `reservation-${r.id}` === id);
      const billed = sum(rows.filter((r) => r.CommitmentDiscountId === id && r.ChargeCategory === 'Purchase'), 'BilledCost');
      expect(Math.abs(billed - roundUnits(reservation.committed_usd_in_period)), id).toBeLessThanOrEqual(1);
      // GPU-hours bought = gpus × hours in the period (e.g. wonka: 16 × 720 = 11,520).
      const bought = rows
        .filter((r) => r.CommitmentDiscountId === id && r.ChargeCategory === 'Purchase')
        .reduce((s, r) => s + Number(r.CommitmentDiscountQuantity), 0);
      expect(bought, id).toBeCloseTo(reservation.gpus * reservation.hours_in_period, 4);
    }
    const wonka = page.rows.find((r: { customer: string | null }) => r.customer === 'wonka');
    expect(wonka.gpus * wonka.hours_in_period).toBe(16 * 720);
  });

  it('shows a pool’s reservation back to its members as the pool page does', async () => {
    const pool = await callLoader(poolLoader, t.viewer, `/pools/shared-h100?${PERIOD}`, { name: 'shared-h100' });
    const showback = pool.selected.showback;
    expect(showback.basis).toBe('current');
    const shared = rows.filter((r) => r.CommitmentDiscountId !== '' && r.SubAccountType === 'Customer' && JSON.parse(r.Tags).pool === 'shared-h100');
    expect(showback.customers.length).toBeGreaterThan(1);
    expect(new Set(shared.map((r) => r.SubAccountId)).size).toBe(showback.customers.length);
    for (const member of showback.customers as { customer: string; used_usd: number; idle_usd: number }[]) {
      const own = shared.filter((r) => r.SubAccountId === member.customer);
      const used = sum(own.filter((r) => r.CommitmentDiscountStatus === 'Used'), 'EffectiveCost');
      const idle = sum(own.filter((r) => r.CommitmentDiscountStatus === 'Unused'), 'EffectiveCost');
      // Row by row rounding moves a member's share by at most a few cents against the page's unrounded split.
      expect(Math.abs(used - member.used_usd * 100), `${member.customer} used`).toBeLessThanOrEqual(3);
      expect(Math.abs(idle - member.idle_usd * 100), `${member.customer} idle`).toBeLessThanOrEqual(3);
    }
  });

  it('prices a token-only customer’s API use per million tokens, adding up to its API cost', async () => {
    const table = await loadCustomersTable(t.db, WINDOW, { sort: 'customer', dir: 'asc', q: '', page: null });
    const apiOnly = table.rows.filter((r) => r.current_basis === 'api');
    let checked = 0;
    for (const c of apiOnly) {
      if (c.pool && rows.some((r) => r.SubAccountId === `pool:${c.pool}`)) continue; // served by its pool's reservation
      checked++;
      const own = rows.filter((r) => r.SubAccountId === c.slug);
      expect(own.every((r) => r.ServiceName === 'Inference API' && r.PricingUnit === '1000000 Tokens' && r.ConsumedUnit === 'Tokens')).toBe(true);
      // Every input and output token once: uncached + cached + cache-write input, and output.
      expect(own.reduce((s, r) => s + Number(r.ConsumedQuantity), 0), c.slug).toBe(c.input_tokens + c.output_tokens);
      for (const r of own) expect(Number(r.PricingQuantity)).toBeCloseTo(Number(r.ConsumedQuantity) / 1e6, 6);
      expect(Math.abs(sum(own, 'BilledCost') - c.api_usd! * 100), c.slug).toBeLessThanOrEqual(2);
      expect(own.every((r) => typeof JSON.parse(r.Tags).model === 'string')).toBe(true);
    }
    expect(checked).toBeGreaterThan(0);
  });

  it('is the same file from the command line', async () => {
    const result = await runCli(['export', 'focus', '--from', FROM_PARAM, '--to', TO_PARAM], { env: { DATABASE_URL: t.url } });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toBe(body);
  }, 120_000);
});

describe('a customer named like a formula', () => {
  // FOCUS rows are filled into one written record per charge identity (focus.server.ts): the name must still be
  // quoted and neutralised in every row, and nothing else in the rows may move.
  it('is written as text in every one of its rows, each row otherwise as before', async () => {
    const name = '=HYPERLINK("http://x"), Inc';
    const before = rows.filter((r) => r.SubAccountId === 'hooli');
    expect(before.length).toBeGreaterThan(0);
    const original = await t.db.selectFrom('customers').select('name').where('slug', '=', 'hooli').executeTakeFirstOrThrow();
    await t.db.updateTable('customers').set({ name }).where('slug', '=', 'hooli').execute();
    try {
      const result = await runCli(['export', 'focus', '--from', FROM_PARAM, '--to', TO_PARAM], { env: { DATABASE_URL: t.url } });
      expect(result.code, result.stderr).toBe(0);
      // RFC 4180: the field quoted (it holds a comma), its quotes doubled, an apostrophe in front.
      expect(result.stdout).toContain(`,"'=HYPERLINK(""http://x""), Inc",Customer,`);
      const [header, ...data]: string[][] = parse(result.stdout);
      const after = data.map((r) => Object.fromEntries(header.map((h, i) => [h, r[i]]))).filter((r) => r.SubAccountId === 'hooli');
      expect(after.map((r) => r.SubAccountName)).toEqual(before.map(() => `'${name}`));
      expect(after.map((r) => ({ ...r, SubAccountName: '' }))).toEqual(before.map((r) => ({ ...r, SubAccountName: '' })));
    } finally {
      await t.db.updateTable('customers').set({ name: original.name }).where('slug', '=', 'hooli').execute();
    }
  }, 120_000);
});

describe('two charges whose cents tie', () => {
  // Two models at one price (llama-3.1-70b and llama-3.3-70b: 0.88 USD per million tokens at together_ai, their
  // cheapest offer), 62,500 input tokens each in one hour: 62,500 × 0.88 / 10⁶ = 0.055 USD, 5.5 cents a row and
  // 11 cents in all. The floors give 5 + 5; the eleventh cent goes to one of two equal remainders — to the earlier
  // row of the file, whichever model's token rows PostgreSQL happens to keep first.
  it('gives the cent to the earlier row of the file, whatever order the token rows are stored in', async () => {
    const period = { from: WINDOW.from, to: WINDOW.to, fromParam: FROM_PARAM, toParam: TO_PARAM };
    const hour = new Date(WINDOW.from.getTime() + 36 * 3_600_000);
    const { id } = await t.db.insertInto('customers').values({ slug: 'tie-co', name: 'Tie Co' }).returning('id').executeTakeFirstOrThrow();
    /** The customer's (model, BilledCost) rows, its token rows stored one model after the other in this order. */
    const exported = async (models: string[]) => {
      await t.db.deleteFrom('hourly_token_usage').where('customer_id', '=', id).execute();
      for (const model of models) {
        await t.db
          .insertInto('hourly_token_usage')
          .values({ customer_id: id, model, hour, input_tokens: 62_500, cached_input_tokens: 0, cache_write_input_tokens: 0, output_tokens: 0, requests: 1 })
          .execute();
      }
      let csv = '';
      for await (const chunk of csvChunks(await focusExport(t.db, period))) csv += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
      const [header, ...data]: string[][] = parse(csv);
      const at = (name: string) => header.indexOf(name);
      return data.filter((r) => r[at('SubAccountId')] === 'tie-co').map((r) => [JSON.parse(r[at('Tags')]).model, r[at('BilledCost')]]);
    };
    try {
      const stored33First = await exported(['llama-3.3-70b', 'llama-3.1-70b']);
      expect(stored33First).toEqual([
        ['llama-3.1-70b', '0.06'],
        ['llama-3.3-70b', '0.05'],
      ]);
      expect(await exported(['llama-3.1-70b', 'llama-3.3-70b'])).toEqual(stored33First);
    } finally {
      await t.db.deleteFrom('customers').where('id', '=', id).execute();
    }
  }, 120_000);
});
