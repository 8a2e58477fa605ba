// bin/breakeven.js runs the compiled command line (build/cli/main.js) only while every source it was built from
// is unchanged, and the TypeScript sources through tsx otherwise. Checked on a copy of bin/breakeven.js in a
// folder of its own, with a stand-in "compiled" and "sources" main that say which one ran.
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bin, root } from '../support/cli.js';

let folder: string;

/** Runs the copy of the command; returns what its main printed. */
async function ran(): Promise<string> {
  const { stdout } = await promisify(execFile)(process.execPath, [path.join(folder, 'bin', 'breakeven.js')], { cwd: folder });
  return stdout.trim();
}

/** Sets a file's modification time, in seconds from now. */
const touch = (file: string, secondsFromNow: number) => utimes(path.join(folder, file), new Date(), new Date(Date.now() + secondsFromNow * 1000));

beforeAll(async () => {
  // Inside the project, so that the copy finds tsx in node_modules as the real command does.
  await mkdir(path.join(root, 'test-output'), { recursive: true });
  folder = await mkdtemp(path.join(root, 'test-output', 'compiled-'));
  for (const dir of ['bin', 'cli', 'build/cli']) await mkdir(path.join(folder, dir), { recursive: true });
  await copyFile(bin, path.join(folder, 'bin', 'breakeven.js'));
  const main = (which: string) => `export async function main() { console.log('${which}'); return 0; }\n`;
  await writeFile(path.join(folder, 'cli', 'main.ts'), `${main('sources')}const typed: number = 1; void typed;\n`);
  await writeFile(path.join(folder, 'build', 'cli', 'main.js'), main('compiled'));
});

afterAll(async () => {
  await rm(folder, { recursive: true, force: true });
});

describe('bin/breakeven.js', () => {
  it('runs the sources when nothing is compiled', async () => {
    expect(await ran()).toBe('sources');
  });

  it('runs the compiled command while its sources are unchanged since it was built', async () => {
    await writeFile(path.join(folder, 'build', 'cli', 'inputs.json'), JSON.stringify({ inputs: ['cli/main.ts'] }));
    await touch('cli/main.ts', -60);
    await touch('build/cli/main.js', 0);
    expect(await ran()).toBe('compiled');
  });

  it('runs the sources once one of them is changed after the build', async () => {
    await touch('cli/main.ts', 60);
    expect(await ran()).toBe('sources');
  });

  it('runs the sources when a source the build came from is gone', async () => {
    await touch('cli/main.ts', -60);
    expect(await ran()).toBe('compiled');
    await writeFile(path.join(folder, 'build', 'cli', 'inputs.json'), JSON.stringify({ inputs: ['cli/main.ts', 'cli/removed.ts'] }));
    expect(await ran()).toBe('sources');
  });
});
