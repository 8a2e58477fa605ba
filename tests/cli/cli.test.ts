import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createDb } from '../../db/client.js';
import { emptyDatabase, freshDatabase } from '../support/database.js';
import { runCli } from '../support/cli.js';
import type { Db } from '../../db/client.js';

let db: Db;
let env: Record<string, string>;
let folder: string;

beforeAll(async () => {
  const fresh = await freshDatabase();
  db = fresh.db;
  env = { DATABASE_URL: fresh.url };
  folder = await mkdtemp(path.join(tmpdir(), 'breakeven-cli-'));
});

describe('breakeven --help', () => {
  it('lists every command and exits 0', async () => {
    const result = await runCli(['--help']);
    expect(result.code).toBe(0);
    for (const command of ['db migrate', 'seed demo', 'customers add', 'customers import', 'users add']) {
      expect(result.stdout).toContain(command);
    }
  });

  it('explains each command', async () => {
    const result = await runCli(['customers', 'add', '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Usage: breakeven customers add SLUG');
    expect(result.stdout).toContain('--pool P');
  });
});

describe('bad usage exits 2 with one line', () => {
  it('an unknown flag', async () => {
    const result = await runCli(['customers', 'add', 'acme', '--colour', 'red'], { env });
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toContain("unknown option '--colour'");
  });

  it('an unknown command', async () => {
    const result = await runCli(['frobnicate'], { env });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('unknown command "frobnicate"');
  });

  it('a malformed DATABASE_URL names the setting and does not echo it', async () => {
    const result = await runCli(['db', 'migrate'], { env: { DATABASE_URL: 'mysql://root:hunter2@x/y' } });
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toContain('DATABASE_URL');
    expect(result.stderr).not.toContain('hunter2');
  });

  it('a DATABASE_URL nobody answers', async () => {
    const result = await runCli(['db', 'migrate'], { env: { DATABASE_URL: 'postgres://u:secret-pw@127.0.0.1:9/x' } });
    expect(result.code).toBe(2);
    expect(result.stderr.trim()).toMatch(/DATABASE_URL: cannot connect to the database \(connection refused\)$/);
    expect(result.stderr).not.toContain('secret-pw');
  });
});

describe('db migrate against an external server', () => {
  it('creates the schema in an empty database, then has nothing to do', async () => {
    const { url } = await emptyDatabase();
    const first = await runCli(['db', 'migrate', '--json'], { env: { DATABASE_URL: url } });
    expect(first.code).toBe(0);
    expect(JSON.parse(first.stdout).applied.length).toBeGreaterThanOrEqual(7);
    const second = await runCli(['db', 'migrate'], { env: { DATABASE_URL: url } });
    expect(second.stdout).toContain('up to date');
    const external = createDb(url, 1);
    const { count } = await external.selectFrom('customers').select((eb) => eb.fn.countAll<number>().as('count')).executeTakeFirstOrThrow();
    await external.destroy();
    expect(Number(count)).toBe(0);
  });
});

describe('customers', () => {
  it('add creates, then updates, with the pool created on the way', async () => {
    expect((await runCli(['customers', 'add', 'acme', '--name', 'Acme Corp', '--pool', 'shared-h100', '--owner', 'Ana@Example.com'], { env })).code).toBe(0);
    const again = await runCli(['customers', 'add', 'acme', '--name', 'Acme Corporation', '--pool', 'shared-h100'], { env });
    expect(again.stdout).toContain('updated');
    const row = await db.selectFrom('customers').innerJoin('pools', 'pools.id', 'customers.pool_id')
      .select(['customers.name', 'pools.name as pool', 'customers.owner_email']).where('slug', '=', 'acme').executeTakeFirstOrThrow();
    expect(row).toEqual({ name: 'Acme Corporation', pool: 'shared-h100', owner_email: null });
  });

  it('add refuses a bad slug with exit 2', async () => {
    const result = await runCli(['customers', 'add', 'Not A Slug'], { env });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('slug');
  });

  it('import upserts by slug in any column order', async () => {
    const file = path.join(folder, 'customers.csv');
    await writeFile(file, 'owner_email,slug,name,pool,extra\nbo@example.com,globex,Globex,,ignored\n,initech,"Initech, Inc.",batch-a100,\n');
    const result = await runCli(['customers', 'import', file, '--json'], { env });
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ created: ['globex', 'initech'], updated: [] });
    const list = JSON.parse((await runCli(['customers', 'list', '--json'], { env })).stdout);
    expect(list).toContainEqual({ slug: 'initech', name: 'Initech, Inc.', pool: 'batch-a100', ownerEmail: null });
  });

  it('import refuses a file with bad rows whole, naming file, line and field', async () => {
    const file = path.join(folder, 'bad.csv');
    await writeFile(file, 'slug,name,owner_email\nhooli,Hooli,\nBAD SLUG,x,\numbrella,Umbrella,not-an-email\nhooli,Again,\n');
    const result = await runCli(['customers', 'import', file], { env });
    expect(result.code).toBe(2);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toEqual([
      expect.stringMatching(/^bad\.csv:3: slug: /),
      expect.stringMatching(/^bad\.csv:4: owner_email: /),
      'bad.csv:5: slug: "hooli" already appears on line 2',
    ]);
    const hooli = await db.selectFrom('customers').select('slug').where('slug', '=', 'hooli').executeTakeFirst();
    expect(hooli).toBeUndefined();
  });

  it('import refuses a file without a slug column', async () => {
    const file = path.join(folder, 'noslug.csv');
    await writeFile(file, 'name,pool\nX,y\n');
    const result = await runCli(['customers', 'import', file], { env });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('noslug.csv: missing column slug');
  });
});

describe('users add', () => {
  it('reads the password from stdin and stores only a scrypt hash', async () => {
    const result = await runCli(['users', 'add', 'Finance@Example.com', '--role', 'viewer', '--password-stdin'], { env, input: 'correct horse battery\n' });
    expect(result.code).toBe(0);
    const user = await db.selectFrom('users').selectAll().where('email', '=', 'finance@example.com').executeTakeFirstOrThrow();
    expect(user.role).toBe('viewer');
    expect(user.password_hash).toMatch(/^scrypt\$32768\$8\$1\$/);
    expect(user.password_hash).not.toContain('correct horse');
  });

  it('refuses a role that does not exist and a short password', async () => {
    expect((await runCli(['users', 'add', 'x@example.com', '--role', 'root', '--password-stdin'], { env, input: 'long enough pw' })).code).toBe(2);
    const short = await runCli(['users', 'add', 'x@example.com', '--role', 'admin', '--password-stdin'], { env, input: 'short' });
    expect(short.code).toBe(2);
    expect(short.stderr).toContain('at least 10 characters');
  });
});
