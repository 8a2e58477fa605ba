import { isDatabaseEmpty } from '../../seeds/demo.js';
import { seedDemoWithSignIn, startOfTodayUtc } from '../../app/services/demo.server.js';
import { positiveInteger, UsageError, type Command } from '../framework.js';

export const seedDemoCommand: Command = {
  path: ['seed', 'demo'],
  summary: 'Fill an empty database with a realistic, deterministic demo: customers, usage, prices, reservations and a demo admin.',
  options: {
    days: { type: 'string', description: 'days of hourly history', default: '90', placeholder: 'N' },
    seed: { type: 'string', description: 'random seed: the same seed gives the same data', default: '1', placeholder: 'N' },
    end: { type: 'string', description: 'exclusive end of the data, an ISO date (default: the start of today, UTC)', placeholder: 'ISO' },
    json: { type: 'boolean', description: 'print the summary as JSON and nothing else' },
  },
  async run({ db, config, options, out }) {
    const days = positiveInteger('days', options.days);
    if (days > 800) throw new UsageError('--days must be at most 800');
    const seed = positiveInteger('seed', options.seed);
    let end = startOfTodayUtc(new Date());
    if (typeof options.end === 'string') {
      end = new Date(options.end);
      if (Number.isNaN(end.getTime()) || end.getTime() % 3_600_000 !== 0) throw new UsageError(`--end must be an ISO date on an hour boundary (got "${options.end}")`);
    }
    if (!(await isDatabaseEmpty(db))) throw new UsageError('the database already has customers; the demo seed only fills an empty database');
    const bar = out.progress('Seeding', 1);
    const summary = await seedDemoWithSignIn(db, config.dataDir, { days, seed, end, onProgress: (done, total) => bar.tick(done / total) });
    bar.done();
    if (out.wantsJson) return out.json(summary);
    out.say(`Seeded ${JSON.stringify(summary, null, 2)}`);
    out.say(`Demo sign-in: ${summary.email} / ${summary.password}`);
  },
};
