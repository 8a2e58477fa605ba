// `breakeven recipients add|list|remove`: who gets the weekly emails.
import type { SubscriptionRow } from '../../app/services/email/recipients.server.js';
import { UsageError, type Command } from '../framework.js';

const CLI_ACTOR = { userId: null, actor: 'cli' };

/** The recipients' service, loaded when a command runs (it brings the email modules, a large part of the CLI's memory). */
const recipients = () => import('../../app/services/email/recipients.server.js');

async function usage<T>(fn: () => Promise<T>): Promise<T> {
  const { RecipientInputError } = await recipients();
  try {
    return await fn();
  } catch (error) {
    if (error instanceof RecipientInputError) throw new UsageError(error.message);
    throw error;
  }
}

function state(s: SubscriptionRow): string {
  if (s.unsubscribed) return 'unsubscribed';
  if (s.former_owner) return 'no longer the owner';
  return s.origin === 'owner' ? 'subscribed (customer owner)' : 'subscribed';
}

const jsonOf = (s: SubscriptionRow) => ({
  email: s.email,
  kind: s.kind,
  customer: s.customer,
  time_zone: s.time_zone,
  active: !s.unsubscribed && !s.former_owner,
  unsubscribed: s.unsubscribed,
  origin: s.origin,
});

export const recipientsAdd: Command = {
  path: ['recipients', 'add'],
  summary: 'Subscribe an address to the weekly finance digest or to a customer email (again, if it was unsubscribed).',
  args: [{ name: 'EMAIL', description: 'the address' }],
  options: {
    kind: { type: 'string', description: 'digest (the whole fleet) or customer (one customer’s week)', placeholder: 'digest|customer' },
    customer: { type: 'string', description: 'the customer of a customer email', placeholder: 'SLUG' },
    tz: { type: 'string', description: 'IANA time zone: the week is Monday to Sunday there, sent Monday 08:00', placeholder: 'ZONE', default: 'UTC' },
    json: { type: 'boolean', description: 'print the subscription as JSON and nothing else' },
  },
  details: `
A customer's owner_email gets that customer's email by default; add it here to set its time zone.
Examples:
  breakeven recipients add cfo@example.com --kind digest --tz Europe/Berlin
  breakeven recipients add ml-platform@acme.example --kind customer --customer acme --tz America/New_York`,
  async run({ db, args, options, out }) {
    if (options.kind === undefined) throw new UsageError('--kind is required: digest or customer');
    const { created, subscription } = await usage(() =>
      recipients().then(({ addRecipient }) => addRecipient(db, CLI_ACTOR, { email: args[0], kind: String(options.kind), customer: options.customer as string | undefined, timeZone: options.tz as string | undefined })),
    );
    if (out.wantsJson) return out.json({ created, subscription: jsonOf(subscription) });
    const what = subscription.kind === 'digest' ? 'the weekly digest' : `the weekly email of ${subscription.customer}`;
    out.say(`${subscription.email} ${created ? 'subscribed' : 'updated'}: ${what}, Monday 08:00 ${subscription.time_zone}.`);
  },
};

export const recipientsList: Command = {
  path: ['recipients', 'list'],
  summary: 'List who gets the weekly emails: digest recipients, and customer emails (owners by default).',
  options: { json: { type: 'boolean', description: 'print the list as JSON and nothing else' } },
  async run({ db, out }) {
    const { listRecipients } = await recipients();
    const all = await listRecipients(db);
    if (out.wantsJson) return out.json(all.map(jsonOf));
    if (!all.length) return out.say('No recipients yet: add one with `breakeven recipients add EMAIL --kind digest`.');
    for (const s of all) {
      out.say([s.kind.padEnd(9), s.email.padEnd(34), (s.customer ?? '-').padEnd(16), s.time_zone.padEnd(22), state(s)].join(' ').trimEnd());
    }
  },
};

export const recipientsRemove: Command = {
  path: ['recipients', 'remove'],
  summary: 'Unsubscribe an address from every weekly email it gets, or only from one kind (and customer).',
  args: [{ name: 'EMAIL', description: 'the address' }],
  options: {
    kind: { type: 'string', description: 'only this kind', placeholder: 'digest|customer' },
    customer: { type: 'string', description: 'only this customer’s email', placeholder: 'SLUG' },
    json: { type: 'boolean', description: 'print the subscriptions ended as JSON and nothing else' },
  },
  details: 'The unsubscription sticks, also for a customer owner (whose subscription is the default); `recipients add` undoes it.',
  async run({ db, args, options, out }) {
    const { removeRecipient } = await recipients();
    const ended = await usage(() => removeRecipient(db, CLI_ACTOR, { email: args[0], kind: options.kind as string | undefined, customer: options.customer as string | undefined }));
    if (out.wantsJson) return out.json({ unsubscribed: ended.map(jsonOf) });
    if (!ended.length) throw new UsageError(`${args[0].toLowerCase()} gets no weekly email${options.kind ? ` of kind ${String(options.kind)}` : ''}${options.customer ? ` for ${String(options.customer)}` : ''}`);
    for (const s of ended) out.say(`${s.email} unsubscribed from ${s.kind === 'digest' ? 'the weekly digest' : `the weekly email of ${s.customer}`}.`);
  },
};
