// docs/scaling.md's plan for Citus, checked against the migrated schema: every table has a decided place
// (distributed by customer_id, reference, or local to the coordinator), and nothing in the schema breaks the
// rules Citus puts on each — so a new table or key that would block distribution fails here, not in production.
import { sql } from 'kysely';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../db/client.js';
import { freshDatabase } from '../support/database.js';

const DISTRIBUTED = ['gpu_samples', 'token_usage', 'hourly_gpu_usage', 'hourly_token_usage', 'daily_gpu_usage', 'daily_token_usage'];
const REFERENCE = [
  'customers', 'pools', 'gpu_types', 'gpu_type_aliases', 'gpu_assignments',
  'price_books', 'offers', 'capacity_profiles', 'reservations', 'recommendations',
];
const LOCAL = [
  'users', 'sessions', 'login_attempts', 'audit_log', 'ingestion_sources', 'ingestion_runs', 'rejected_rows',
  'email_recipients', 'email_log', 'gpu_sample_retention', 'kysely_migration', 'kysely_migration_lock',
];

let db: Db;
let tables: string[];
let uniques: { table: string; index: string; columns: string[] }[];
let foreignKeys: { table: string; name: string; columns: string[]; target: string; targetColumns: string[] }[];

beforeAll(async () => {
  ({ db } = await freshDatabase());
  // gpu_samples keeps its key on each daily partition (decision 032): one partition, to check its key.
  await sql`SELECT ensure_gpu_sample_partition('2026-11-01')`.execute(db);
  // Tables of the public schema, partitions left out (they follow their parent).
  tables = (
    await sql<{ name: string }>`
      SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition ORDER BY 1`.execute(db)
  ).rows.map((r) => r.name);
  uniques = (
    // A partition's keys count as its partitioned table's (Citus distributes each partition with its parent).
    await sql<{ table: string; index: string; columns: string[] }>`
      SELECT coalesce(p.relname, t.relname) AS table, i.relname AS index,
             array(SELECT a.attname FROM unnest(x.indkey) k JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k)::text[] AS columns
      FROM pg_index x JOIN pg_class t ON t.oid = x.indrelid JOIN pg_class i ON i.oid = x.indexrelid
      JOIN pg_namespace n ON n.oid = t.relnamespace
      LEFT JOIN pg_inherits h ON h.inhrelid = t.oid LEFT JOIN pg_class p ON p.oid = h.inhparent
      WHERE n.nspname = 'public' AND x.indisunique`.execute(db)
  ).rows;
  foreignKeys = (
    await sql<{ table: string; name: string; columns: string[]; target: string; targetColumns: string[] }>`
      SELECT t.relname AS table, c.conname AS name, f.relname AS target,
             array(SELECT a.attname FROM unnest(c.conkey) k JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k)::text[] AS columns,
             array(SELECT a.attname FROM unnest(c.confkey) k JOIN pg_attribute a ON a.attrelid = f.oid AND a.attnum = k)::text[] AS "targetColumns"
      FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid JOIN pg_class f ON f.oid = c.confrelid
      JOIN pg_namespace n ON n.oid = t.relnamespace
      WHERE n.nspname = 'public' AND c.contype = 'f' AND NOT t.relispartition`.execute(db)
  ).rows;
});

describe('the schema can be distributed by customer_id (docs/scaling.md)', () => {
  it('places every table: distributed, reference or local', () => {
    const placed = new Set([...DISTRIBUTED, ...REFERENCE, ...LOCAL]);
    expect(tables.filter((t) => !placed.has(t)), 'tables docs/scaling.md does not place').toEqual([]);
    expect([...placed].filter((t) => !tables.includes(t)), 'tables docs/scaling.md places that do not exist').toEqual([]);
  });

  it('gives every distributed table unique keys that include customer_id', () => {
    const offending = uniques.filter((u) => DISTRIBUTED.includes(u.table) && !u.columns.includes('customer_id'));
    expect(offending).toEqual([]);
    // Each has its primary key at least: the check above looked at something.
    for (const t of DISTRIBUTED) expect(uniques.some((u) => u.table === t)).toBe(true);
  });

  it('lets distributed tables reference only reference tables, or each other on customer_id', () => {
    const offending = foreignKeys.filter(
      (f) =>
        DISTRIBUTED.includes(f.table) &&
        !REFERENCE.includes(f.target) &&
        !(DISTRIBUTED.includes(f.target) && f.columns.includes('customer_id') && f.targetColumns.includes('customer_id')),
    );
    expect(offending).toEqual([]);
    expect(foreignKeys.filter((f) => DISTRIBUTED.includes(f.table)).length).toBeGreaterThan(0);
  });

  it('lets reference tables reference only reference tables, and no table reference a distributed one but its own kind', () => {
    expect(foreignKeys.filter((f) => REFERENCE.includes(f.table) && !REFERENCE.includes(f.target))).toEqual([]);
    expect(foreignKeys.filter((f) => LOCAL.includes(f.table) && DISTRIBUTED.includes(f.target))).toEqual([]);
  });
});
