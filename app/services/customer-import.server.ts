// `customers import FILE.csv`: columns slug,name,pool,owner_email in any order; upserts by slug.
// A file with any bad row is refused whole, every problem listed with its line.
import { createReadStream } from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse';
import type { Db } from '../../db/client.js';
import { upsertCustomers, type CustomerRecord } from '../../db/queries/customers.js';
import { validateCustomer } from '../domain/customers.js';

export class InputProblems extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
  }
}

export async function importCustomersCsv(db: Db, file: string): Promise<{ created: string[]; updated: string[] }> {
  const name = path.basename(file);
  const parser = createReadStream(file).pipe(
    parse({ bom: true, columns: (header: string[]) => header.map((h) => h.trim().toLowerCase()), info: true, skip_empty_lines: true }),
  );
  const problems: string[] = [];
  const records: CustomerRecord[] = [];
  const seen = new Map<string, number>();
  try {
    for await (const { record, info } of parser as AsyncIterable<{ record: Record<string, string>; info: { lines: number } }>) {
      const line = info.lines;
      if (!('slug' in record)) {
        throw new InputProblems([`${name}: missing column slug (found: ${Object.keys(record).join(', ')})`]);
      }
      const result = validateCustomer({ slug: record.slug ?? '', name: record.name, pool: record.pool, ownerEmail: record.owner_email });
      if (!result.ok) {
        for (const p of result.problems) problems.push(`${name}:${line}: ${p.field}: ${p.message}`);
        continue;
      }
      const previous = seen.get(result.customer.slug);
      if (previous !== undefined) {
        problems.push(`${name}:${line}: slug: "${result.customer.slug}" already appears on line ${previous}`);
        continue;
      }
      seen.set(result.customer.slug, line);
      records.push(result.customer);
    }
  } catch (error) {
    if (error instanceof InputProblems) throw error;
    const e = error as NodeJS.ErrnoException & { lines?: number };
    if (e.code === 'ENOENT') throw new InputProblems([`${file}: no such file`]);
    throw new InputProblems([`${name}${e.lines ? `:${e.lines}` : ''}: not a valid CSV file (${e.message})`]);
  }
  if (problems.length) throw new InputProblems(problems);
  if (records.length === 0) throw new InputProblems([`${name}: no customers in the file (expected a header row slug,name,pool,owner_email and rows)`]);
  return db.transaction().execute((trx) => upsertCustomers(trx, records));
}
