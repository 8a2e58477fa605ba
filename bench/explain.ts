// The query plans behind the three benchmarked pages, for docs/performance.md: every statement the overview,
// customers and customer pages issue when their figures are not cached (captured from Kysely's log while the
// same service functions the routes call run), plus the two rollup reads that go out as COPY, each run again
// under EXPLAIN (ANALYZE, BUFFERS).
import { Kysely, PostgresDialect, type CompiledQuery } from 'kysely';
import { createPool, type Db } from '../db/client.js';
import type { Database } from '../db/schema.js';
import { demandInputsSql } from '../db/queries/demand-inputs.js';
import { lastDays } from '../app/domain/period.js';
import { loadOverview } from '../app/services/overview.server.js';
import { loadCustomersTable } from '../app/services/dashboard/customers.server.js';
import { loadCustomerDetail } from '../app/services/dashboard/customer.server.js';

export interface Plan {
  page: string;
  statement: string;
  plan: string;
  ms: number;
}

export async function explainPages(url: string, today: Date): Promise<Plan[]> {
  const captured: { page: string; query: CompiledQuery }[] = [];
  let page = '';
  // A handle of its own: the pages' caches are per handle, so every figure is computed afresh through it.
  const db: Db = new Kysely<Database>({
    dialect: new PostgresDialect({ pool: createPool(url, 4) }),
    log: (event) => {
      if (event.level === 'query') captured.push({ page, query: event.query });
    },
  });
  const plans: Plan[] = [];
  try {
    const period = lastDays(30, today);
    page = 'overview /';
    await loadOverview(db, { period, now: today, timeZone: 'UTC' });
    page = 'customers /customers';
    await loadCustomersTable(db, period, { sort: 'saving', dir: 'desc', q: '', page: 1 });
    page = 'customer /customers/c-00001';
    await loadCustomerDetail(db, { slug: 'c-00001', period, timeZone: 'UTC' });

    const seen = new Set<string>();
    const statements: { page: string; sql: string; parameters: readonly unknown[] }[] = [];
    for (const { page, query } of captured) {
      const key = query.sql;
      if (seen.has(key) || !/^\s*(select|with)\b/i.test(key)) continue;
      seen.add(key);
      statements.push({ page, sql: query.sql, parameters: query.parameters });
    }
    const window = { from: period.from, to: period.to };
    const reads = demandInputsSql(window);
    statements.push({ page: 'every page (the rollup read, sent as COPY … TO STDOUT)', sql: reads.telemetry, parameters: [] });
    statements.push({ page: 'every page (the rollup read, sent as COPY … TO STDOUT)', sql: reads.tokens, parameters: [] });

    const client = await createPool(url, 1).connect();
    try {
      await client.query("SET TIME ZONE 'UTC'");
      for (const s of statements) {
        const t0 = performance.now();
        const { rows } = await client.query({ text: `EXPLAIN (ANALYZE, BUFFERS) ${s.sql}`, values: s.parameters as unknown[] });
        plans.push({ page: s.page, statement: s.sql, plan: rows.map((r) => r['QUERY PLAN']).join('\n'), ms: performance.now() - t0 });
      }
    } finally {
      client.release(true);
    }
    return plans;
  } finally {
    await db.destroy();
  }
}

export function plansMarkdown(plans: Plan[], customers: number): string {
  return plans
    .map(
      (p, i) =>
        `### ${i + 1}. ${p.page}\n\n\`\`\`sql\n${p.statement.replace(/\s+/g, ' ').trim()}\n\`\`\`\n\n\`\`\`\n${p.plan}\n\`\`\`\n`,
    )
    .join('\n')
    .concat(`\n(${plans.length} statements, ${customers.toLocaleString('en-US')} customers, a year of rollups.)\n`);
}
