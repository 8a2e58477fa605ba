// Which customer a pulled series or usage bucket belongs to: a configured label value (or OpenAI project id),
// mapped explicitly or taken as the slug itself.
import { SLUG_PATTERN } from '../customers.js';
import type { CustomerMapping } from './source-config.js';

/** lower-case, every run of characters other than a–z and 0–9 becomes '-', no '-' at either end, ≤ 100 characters. */
export function slugify(value: string): string {
  return value
    .normalize('NFKD')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+/, '')
    .slice(0, 100)
    .replace(/-+$/, '');
}

export type CustomerChoice =
  | { kind: 'slug'; slug: string }
  /** No value to map, and no default: the caller may still know (a GPU assignment) or must reject. */
  | { kind: 'none' }
  | { kind: 'invalid'; reason: string };

/**
 * The customer of a label value: `map[value]`, else the value made a slug ("team_A" → `team-a`).
 * A missing or empty value gives the default customer when `useDefault`, otherwise `none`.
 */
export function customerFor(value: string | null | undefined, mapping: CustomerMapping, useDefault = true): CustomerChoice {
  if (value === undefined || value === null || value === '') {
    return useDefault && mapping.defaultCustomer ? { kind: 'slug', slug: mapping.defaultCustomer } : { kind: 'none' };
  }
  const mapped = Object.prototype.hasOwnProperty.call(mapping.map, value) ? mapping.map[value] : undefined;
  const slug = mapped ?? slugify(value);
  if (!SLUG_PATTERN.test(slug) || slug.length > 100) {
    return { kind: 'invalid', reason: `"${value}" does not make a customer slug; map it with customer_map` };
  }
  return { kind: 'slug', slug };
}
