// `npm run build` (after `remix build`): the command line compiled to JavaScript, build/cli/main.js, and the
// serve command's web process, build/cli/web-process.js. bin/breakeven.js runs them while they are current
// (build/cli/inputs.json lists the sources they were built from) and the TypeScript sources through tsx
// otherwise. Compiled, the command starts in about half the time and without tsx's loader thread, whose
// ~40 MB every import, export and email run carried (docs/decisions/052-compiled-command.md).
// Packages stay in node_modules; the app's `~/` imports are resolved from tsconfig.json.
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { build } from 'esbuild';

const root = path.resolve(import.meta.dirname, '..');
const out = path.join(root, 'build', 'cli');

await rm(out, { recursive: true, force: true });
const result = await build({
  absWorkingDir: root,
  entryPoints: { main: 'cli/main.ts', 'web-process': 'server/web-process-entry.ts' },
  outdir: out,
  bundle: true,
  // What a command loads when it runs (the server, the mailer) goes into chunks of its own: without them every
  // command would load express, graphile-worker and nodemailer at start (~13 MB).
  splitting: true,
  packages: 'external',
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: 'linked',
  metafile: true,
  logLevel: 'warning',
});
const inputs = Object.keys(result.metafile.inputs).sort();
await writeFile(path.join(out, 'inputs.json'), `${JSON.stringify({ inputs }, null, 1)}\n`);
console.log(`command line compiled: build/cli/main.js from ${inputs.length} sources`);
