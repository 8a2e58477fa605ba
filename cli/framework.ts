// The command-line framework: each command declares its arguments and options once; parsing, --help,
// exit statuses (0 done, 1 failed, 2 bad usage or bad input) and output modes follow from that.
import { parseArgs } from 'node:util';
import type { Db } from '../db/client.js';
import type { Config } from '../server/config.js';

/** Bad usage or bad input: exit status 2. */
export class UsageError extends Error {}

export interface OptionSpec {
  type: 'string' | 'boolean';
  description: string;
  placeholder?: string;
  default?: string;
}

export interface Command {
  path: string[];
  summary: string;
  args?: { name: string; description: string; optional?: boolean }[];
  options?: Record<string, OptionSpec>;
  /** Commands that need no database (serve opens its own) say so. */
  database?: boolean;
  /** Extra help text: notes and examples. */
  details?: string;
  run(context: Context): Promise<void>;
}

export interface Context {
  db: Db;
  config: Config;
  args: string[];
  options: Record<string, string | boolean | undefined>;
  out: Output;
}

export interface Output {
  /** A line for people; silent under --json. */
  say(line: string): void;
  /** A warning on stderr. */
  warn(line: string): void;
  /** The one JSON document of a --json run. */
  json(document: unknown): void;
  readonly wantsJson: boolean;
  /** A progress bar on a terminal, nothing otherwise. */
  progress(label: string, total: number): Progress;
}

export interface Progress {
  tick(done: number): void;
  done(): void;
}

export function createOutput(wantsJson: boolean): Output {
  const interactive = Boolean(process.stderr.isTTY) && !wantsJson;
  return {
    wantsJson,
    say: (line) => {
      if (!wantsJson) process.stdout.write(`${line}\n`);
    },
    warn: (line) => process.stderr.write(`warning: ${line}\n`),
    json: (document) => process.stdout.write(`${JSON.stringify(document, null, 2)}\n`),
    progress(label, total) {
      if (!interactive) return { tick: () => {}, done: () => {} };
      let last = -1;
      const draw = (done: number) => {
        const share = total > 0 ? Math.min(1, done / total) : 1;
        const percent = Math.floor(share * 100);
        if (percent === last) return;
        last = percent;
        const width = 30;
        const filled = Math.round(share * width);
        process.stderr.write(`\r${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${percent}%`);
      };
      return { tick: draw, done: () => { draw(total); process.stderr.write('\n'); } };
    },
  };
}

function optionUsage(name: string, spec: OptionSpec): string {
  return spec.type === 'boolean' ? `--${name}` : `--${name} ${spec.placeholder ?? name.toUpperCase()}`;
}

export function usageLine(command: Command): string {
  const args = (command.args ?? []).map((a) => (a.optional ? `[${a.name}]` : a.name));
  const options = Object.entries(command.options ?? {}).map(([n, s]) => `[${optionUsage(n, s)}]`);
  return ['breakeven', ...command.path, ...args, ...options].join(' ');
}

export function helpText(command: Command): string {
  const lines = [`Usage: ${usageLine(command)}`, '', command.summary];
  if (command.args?.length) {
    lines.push('', 'Arguments:');
    for (const a of command.args) lines.push(`  ${a.name.padEnd(24)} ${a.description}`);
  }
  const options = Object.entries(command.options ?? {});
  lines.push('', 'Options:');
  for (const [name, spec] of options) {
    const dflt = spec.default !== undefined ? ` (default: ${spec.default})` : '';
    lines.push(`  ${optionUsage(name, spec).padEnd(24)} ${spec.description}${dflt}`);
  }
  lines.push(`  ${'--help'.padEnd(24)} show this help`);
  if (command.details) lines.push('', command.details.trim());
  return lines.join('\n');
}

export function parseCommandLine(command: Command, argv: string[]): { args: string[]; options: Context['options'] } {
  const options = Object.fromEntries(
    Object.entries(command.options ?? {}).map(([name, spec]) => [name, { type: spec.type, default: spec.default }]),
  );
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (error) {
    const message = (error as Error).message.replace(/\. To specify a positional.*$/s, '').replace(/^Unknown option/, 'unknown option');
    throw new UsageError(`${message}; see breakeven ${command.path.join(' ')} --help`);
  }
  const declared = command.args ?? [];
  const required = declared.filter((a) => !a.optional).length;
  if (parsed.positionals.length < required) {
    throw new UsageError(`missing ${declared[parsed.positionals.length].name}; usage: ${usageLine(command)}`);
  }
  if (parsed.positionals.length > declared.length) {
    throw new UsageError(`unexpected argument "${parsed.positionals[declared.length]}"; usage: ${usageLine(command)}`);
  }
  return { args: parsed.positionals, options: parsed.values as Context['options'] };
}

/** Reads an option that must be one of a few words. */
export function oneOf<T extends string>(name: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !allowed.includes(value as T)) {
    throw new UsageError(`--${name} must be one of ${allowed.join(', ')}${value === undefined ? '' : ` (got "${String(value)}")`}`);
  }
  return value as T;
}

/** Reads an option that must be a positive whole number. */
export function positiveInteger(name: string, value: unknown): number {
  const n = Number(value);
  if (typeof value !== 'string' || !/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1) {
    throw new UsageError(`--${name} must be a positive whole number (got "${String(value)}")`);
  }
  return n;
}

export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
