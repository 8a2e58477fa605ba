import { listUsers, removeUser, upsertUser } from '../../db/queries/users.js';
import { isEmail } from '../../app/domain/customers.js';
import { MIN_PASSWORD_LENGTH } from '../../app/domain/accounts.js';
import { hashPassword } from '../../app/services/passwords.server.js';
import { oneOf, readStdin, UsageError, type Command } from '../framework.js';

export const usersAdd: Command = {
  path: ['users', 'add'],
  summary: 'Add a user who can sign in, or change the role and password of an existing one.',
  args: [{ name: 'EMAIL', description: 'the sign-in email' }],
  options: {
    role: { type: 'string', description: 'admin (changes settings) or viewer (reads everything)', placeholder: 'admin|viewer' },
    'password-stdin': { type: 'boolean', description: `read the password from standard input (at least ${MIN_PASSWORD_LENGTH} characters)` },
  },
  details: 'Example: printf %s "$PASSWORD" | breakeven users add ana@example.com --role viewer --password-stdin',
  async run({ db, args, options, out }) {
    const email = args[0].trim().toLowerCase();
    if (!isEmail(email)) throw new UsageError(`"${args[0]}" is not an email address`);
    const role = oneOf('role', options.role, ['admin', 'viewer'] as const);
    if (!options['password-stdin']) throw new UsageError('--password-stdin is required: the password is read from standard input, never from the command line');
    const password = (await readStdin()).replace(/\r?\n$/, '');
    if (password.length < MIN_PASSWORD_LENGTH) throw new UsageError(`the password must be at least ${MIN_PASSWORD_LENGTH} characters`);
    const outcome = await upsertUser(db, email, role, await hashPassword(password));
    out.say(`User ${email} ${outcome} (${role}).`);
  },
};

export const usersList: Command = {
  path: ['users', 'list'],
  summary: 'List the users who can sign in.',
  options: { json: { type: 'boolean', description: 'print the list as JSON and nothing else' } },
  async run({ db, out }) {
    const users = await listUsers(db);
    if (out.wantsJson) return out.json(users.map((u) => ({ email: u.email, role: u.role, created_at: u.created_at })));
    if (!users.length) return out.say('No users yet: add one with `breakeven users add EMAIL --role admin --password-stdin`.');
    for (const u of users) out.say(`${u.email.padEnd(32)} ${u.role}`);
  },
};

export const usersRemove: Command = {
  path: ['users', 'remove'],
  summary: 'Remove a user; their open sessions end at once.',
  args: [{ name: 'EMAIL', description: 'the sign-in email' }],
  async run({ db, args, out }) {
    if (!(await removeUser(db, args[0]))) throw new UsageError(`no user ${args[0]}`);
    out.say(`User ${args[0].toLowerCase()} removed.`);
  },
};
