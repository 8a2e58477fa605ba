import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parsePriceBook } from '../../app/domain/price-book.js';
import { formatInstant } from '../../app/domain/document.js';
import { InputProblems } from '../../app/services/customer-import.server.js';
import { findPriceBook, importPriceBook, listPriceBooks } from '../../db/queries/price-books.js';
import { markRecommendationsStaleFrom } from '../../db/queries/recommendations.js';
import type { Command } from '../framework.js';

const iso = (d: Date | null) => (d === null ? null : formatInstant(d.getTime()));

export const pricesImport: Command = {
  path: ['prices', 'import'],
  summary: 'Import a price book (JSON): GPU-hour and API offers and capacity profiles, in force from its effective_from.',
  args: [{ name: 'FILE.json', description: 'a price book in the format of DESIGN.md ("Price book")' }],
  options: { json: { type: 'boolean', description: 'print the imported book\'s summary as JSON and nothing else' } },
  details: `
A book applies from its effective_from until the next book's; earlier books are kept, so a past period is
always costed with the prices in force then. A bad file is refused whole: every problem is listed with its
JSON path (e.g. $.offers[2].usd_per_gpu_hour) and nothing is stored. Importing the same file again changes
nothing. Stored recommendations that cover hours from effective_from on are marked stale.`,
  async run({ db, args, out }) {
    const file = args[0];
    const name = path.basename(file);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw new InputProblems([code === 'ENOENT' ? `${file}: no such file` : `${file}: cannot be read (${(error as Error).message})`]);
    }
    let json: unknown;
    try {
      json = JSON.parse(text.replace(/^\uFEFF/, ''));
    } catch (error) {
      throw new InputProblems([`${name}: not valid JSON (${(error as Error).message}); nothing imported`]);
    }
    const parsed = parsePriceBook(json);
    const refuse = (problems: { path: string; message: string }[]) =>
      new InputProblems([
        ...problems.map((p) => `${p.path}: ${p.message}`),
        `${name}: nothing imported (${problems.length} problem${problems.length === 1 ? '' : 's'})`,
      ]);
    if (!parsed.ok) throw refuse(parsed.problems);
    const result = await importPriceBook(db, parsed.book);
    if (!result.ok) throw refuse(result.problems);
    const stale = result.created ? await markRecommendationsStaleFrom(db, parsed.book.effective_from) : 0;
    const stored = (await findPriceBook(db, result.id))!;
    const { book } = parsed;
    const count = (kind: string) => book.offers.filter((o) => o.kind === kind).length;
    const summary = {
      id: stored.id,
      name: stored.name,
      created: result.created,
      effective_from: iso(stored.effective_from),
      effective_to: iso(stored.effective_to),
      offers: { reserved: count('reserved'), on_demand: count('on_demand'), api: count('api') },
      capacity_profiles: book.capacity_profiles.length,
      gpu_types: [...new Set([...book.gpu_types.map((t) => t.name), ...book.offers.flatMap((o) => (o.kind === 'api' ? [] : [o.gpu_type]))])].sort(),
      recommendations_marked_stale: stale,
    };
    if (out.wantsJson) return out.json(summary);
    out.say(
      `${result.created ? 'Imported' : 'Already imported, unchanged:'} price book ${summary.name}, in force from ${summary.effective_from}` +
        `${summary.effective_to ? ` until ${summary.effective_to}` : ''}.`,
    );
    out.say(
      `  ${summary.offers.reserved} reserved and ${summary.offers.on_demand} on-demand GPU offers, ${summary.offers.api} API offers, ` +
        `${summary.capacity_profiles} capacity profiles; GPU types ${summary.gpu_types.join(', ') || '(none)'}.`,
    );
    if (stale > 0) out.say(`  ${stale} stored recommendation(s) covering hours from then on marked stale.`);
  },
};

export const pricesList: Command = {
  path: ['prices', 'list'],
  summary: 'List the price books with their effective dates and what they hold.',
  options: { json: { type: 'boolean', description: 'print the list as JSON and nothing else' } },
  async run({ db, out }) {
    const books = await listPriceBooks(db);
    const now = Date.now();
    const rows = books.map((b) => ({
      id: b.id,
      name: b.name,
      effective_from: iso(b.effective_from),
      effective_to: iso(b.effective_to),
      in_force_now: b.effective_from.getTime() <= now && (b.effective_to === null || now < b.effective_to.getTime()),
      offers: b.offers,
      capacity_profiles: b.capacity_profiles,
      imported_at: b.imported_at.toISOString(),
    }));
    if (out.wantsJson) return out.json(rows);
    if (rows.length === 0) return out.say('No price books yet: import one with `breakeven prices import FILE.json`.');
    for (const r of rows) {
      out.say(
        `${r.in_force_now ? '*' : ' '} ${r.name.padEnd(24)} ${r.effective_from} → ${(r.effective_to ?? 'open').padEnd(20)} ` +
          `${String(r.offers).padStart(4)} offers ${String(r.capacity_profiles).padStart(4)} profiles`,
      );
    }
    out.say('(* in force now)');
  },
};
