// `breakeven`: one entry point for every command. Exit status: 0 done, 1 failed, 2 bad usage or input.
import { ConfigError, loadConfig, type Config } from '../server/config.js';
import { connectDatabase, StartupError } from '../server/database.js';
import { InputProblems } from '../app/services/customer-import.server.js';
import { describeFailure } from './failure.js';
import { createOutput, helpText, parseCommandLine, UsageError, type Command } from './framework.js';
import { customersAdd, customersImport, customersList } from './commands/customers.js';
import { dbMigrate } from './commands/db.js';
import { emailWeekly } from './commands/email.js';
import { exportCommands } from './commands/export.js';
import { pricesImport, pricesList } from './commands/prices.js';
import { recommendCommand } from './commands/recommend.js';
import { ingestFile } from './commands/ingest.js';
import { recipientsAdd, recipientsList, recipientsRemove } from './commands/recipients.js';
import { seedDemoCommand } from './commands/seed.js';
import { serveCommand } from './commands/serve.js';
import { ingestRun, sourcesAdd, sourcesList, sourcesRemove } from './commands/sources.js';
import { usersAdd, usersList, usersRemove } from './commands/users.js';

export const commands: Command[] = [
  serveCommand,
  dbMigrate,
  seedDemoCommand,
  customersAdd,
  customersImport,
  customersList,
  pricesImport,
  pricesList,
  recommendCommand,
  ingestFile,
  ingestRun,
  usersAdd,
  usersList,
  usersRemove,
  sourcesAdd,
  sourcesList,
  sourcesRemove,
  recipientsAdd,
  recipientsList,
  recipientsRemove,
  emailWeekly,
  ...exportCommands,
];

function overview(): string {
  const width = Math.max(...commands.map((c) => c.path.join(' ').length)) + 2;
  return [
    'Usage: breakeven COMMAND [options]',
    '',
    'What reserved GPUs, on-demand GPUs and an inference API would cost each customer, and how many GPUs to reserve.',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.path.join(' ').padEnd(width)}${c.summary.split(/(?<=\.) /)[0]}`),
    '',
    'Run `breakeven COMMAND --help` for a command\'s options.',
    'Settings come from the environment: DATABASE_URL (unset: the embedded database in BREAKEVEN_DATA_DIR, default ./.data),',
    'PORT, SESSION_SECRET, APP_URL, SMTP_URL, MAIL_FROM. See README.md.',
  ].join('\n');
}

function findCommand(argv: string[]): { command: Command; rest: string[] } | undefined {
  const words = argv.filter((a) => !a.startsWith('-'));
  let best: Command | undefined;
  for (const command of commands) {
    if (command.path.every((word, i) => words[i] === word) && command.path.length > (best?.path.length ?? 0)) best = command;
  }
  if (!best) return undefined;
  const rest = [...argv];
  for (const word of best.path) rest.splice(rest.indexOf(word), 1);
  return { command: best, rest };
}

async function execute(command: Command, argv: string[], config: Config): Promise<void> {
  const { args, options } = parseCommandLine(command, argv);
  const out = createOutput(options.json === true);
  if (command.database === false) {
    return command.run({ db: undefined as never, config, args, options, out });
  }
  const database = await connectDatabase(config, 4);
  try {
    await command.run({ db: database.db, config, args, options, out });
  } catch (error) {
    // Stopping a database that has just failed may fail too: the command's own error is the one to report.
    await database.close().catch(() => {});
    throw error;
  }
  await database.close();
}

export async function main(argv: string[]): Promise<number> {
  const wantsHelp = argv.includes('--help') || argv.includes('-h');
  const words = argv.filter((a) => !a.startsWith('-'));
  if (argv.length === 0 || (wantsHelp && words.length === 0) || words[0] === 'help') {
    const found = words[0] === 'help' ? findCommand(words.slice(1)) : undefined;
    console.log(found ? helpText(found.command) : overview());
    return 0;
  }
  const found = findCommand(argv);
  if (!found) {
    const group = commands.filter((c) => c.path[0] === words[0]);
    if (group.length && (words.length === 1 || wantsHelp)) {
      const lines = group.map((c) => `  breakeven ${c.path.join(' ').padEnd(20)} ${c.summary.split(/(?<=\.) /)[0]}`);
      (wantsHelp ? console.log : console.error)(`Commands of breakeven ${words[0]}:\n${lines.join('\n')}`);
      return wantsHelp ? 0 : 2;
    }
    console.error(`breakeven: unknown command "${words.join(' ')}"; run \`breakeven --help\` for the list`);
    return 2;
  }
  if (wantsHelp) {
    console.log(helpText(found.command));
    return 0;
  }
  let config: Config | undefined;
  try {
    config = loadConfig();
    await execute(found.command, found.rest, config);
    return 0;
  } catch (error) {
    if (error instanceof InputProblems) {
      console.error(error.problems.join('\n'));
      return 2;
    }
    if (error instanceof UsageError || error instanceof ConfigError || error instanceof StartupError) {
      console.error(`breakeven ${found.command.path.join(' ')}: ${error.message}`);
      return 2;
    }
    const dataDir = config && !config.DATABASE_URL ? config.dataDir : null;
    console.error(`breakeven ${found.command.path.join(' ')} failed: ${await describeFailure(error, dataDir)}`);
    if (process.env.BREAKEVEN_DEBUG) console.error(error);
    return 1;
  }
}
