import { listCustomers, upsertCustomers } from '../../db/queries/customers.js';
import { validateCustomer } from '../../app/domain/customers.js';
import { importCustomersCsv } from '../../app/services/customer-import.server.js';
import { UsageError, type Command } from '../framework.js';

export const customersAdd: Command = {
  path: ['customers', 'add'],
  summary: 'Add a customer, or update the customer with this slug.',
  args: [{ name: 'SLUG', description: 'lower-case letters, digits and dashes, e.g. acme-corp' }],
  options: {
    name: { type: 'string', description: 'display name (default: the slug)', placeholder: 'N' },
    pool: { type: 'string', description: 'pool of customers sharing reserved GPUs (created if new)', placeholder: 'P' },
    owner: { type: 'string', description: "the account owner's email (gets the weekly customer email)", placeholder: 'EMAIL' },
    json: { type: 'boolean', description: 'print the result as JSON and nothing else' },
  },
  async run({ db, args, options, out }) {
    const result = validateCustomer({ slug: args[0], name: options.name as string, pool: options.pool as string, ownerEmail: options.owner as string });
    if (!result.ok) throw new UsageError(result.problems.map((p) => `${p.field}: ${p.message}`).join('; '));
    const { created } = await upsertCustomers(db, [result.customer]);
    const verb = created.length ? 'created' : 'updated';
    if (out.wantsJson) return out.json({ [verb]: result.customer });
    out.say(`Customer ${result.customer.slug} ${verb}${result.customer.pool ? ` (pool ${result.customer.pool})` : ''}.`);
  },
};

export const customersImport: Command = {
  path: ['customers', 'import'],
  summary: 'Add or update customers from a CSV file with the columns slug,name,pool,owner_email (any order).',
  args: [{ name: 'FILE.csv', description: 'RFC 4180 CSV, UTF-8, with a header row; only slug is required' }],
  options: { json: { type: 'boolean', description: 'print {"created": [...], "updated": [...]} and nothing else' } },
  details: 'A file with any bad row is refused whole: every problem is listed with its line, and nothing is stored.',
  async run({ db, args, out }) {
    const { created, updated } = await importCustomersCsv(db, args[0]);
    if (out.wantsJson) return out.json({ created, updated });
    out.say(`${created.length} customer(s) created, ${updated.length} updated.`);
  },
};

export const customersList: Command = {
  path: ['customers', 'list'],
  summary: 'List customers with their pool and owner.',
  options: { json: { type: 'boolean', description: 'print the list as JSON and nothing else' } },
  async run({ db, out }) {
    const customers = await listCustomers(db);
    if (out.wantsJson) return out.json(customers);
    if (!customers.length) return out.say('No customers yet: add one with `breakeven customers add SLUG`.');
    for (const c of customers) out.say([c.slug.padEnd(24), (c.pool ?? '-').padEnd(16), c.ownerEmail ?? '-', ` ${c.name}`].join(' '));
  },
};
