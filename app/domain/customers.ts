// What a customer record must look like, checked before anything is stored.

export const SLUG_PATTERN = /^[a-z0-9][a-z0-9-]*$/;
const EMAIL_PATTERN = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

export interface CustomerInput {
  slug: string;
  name?: string | null;
  pool?: string | null;
  ownerEmail?: string | null;
}

export interface ValidCustomer {
  slug: string;
  name: string;
  pool: string | null;
  ownerEmail: string | null;
}

export interface FieldProblem {
  field: string;
  message: string;
}

/** Checks and normalises one customer; the name defaults to the slug, emails are lower-cased. */
export function validateCustomer(input: CustomerInput): { ok: true; customer: ValidCustomer } | { ok: false; problems: FieldProblem[] } {
  const problems: FieldProblem[] = [];
  const slug = input.slug.trim();
  if (!SLUG_PATTERN.test(slug) || slug.length > 100) {
    problems.push({ field: 'slug', message: `"${slug}" is not a slug (lower-case letters, digits and dashes, starting with a letter or digit)` });
  }
  const name = (input.name ?? '').trim() || slug;
  if (name.length > 200) problems.push({ field: 'name', message: 'is longer than 200 characters' });
  const pool = (input.pool ?? '').trim() || null;
  if (pool !== null && !SLUG_PATTERN.test(pool)) {
    problems.push({ field: 'pool', message: `"${pool}" is not a pool name (lower-case letters, digits and dashes)` });
  }
  const ownerEmail = (input.ownerEmail ?? '').trim().toLowerCase() || null;
  if (ownerEmail !== null && !EMAIL_PATTERN.test(ownerEmail)) {
    problems.push({ field: 'owner_email', message: `"${ownerEmail}" is not an email address` });
  }
  return problems.length ? { ok: false, problems } : { ok: true, customer: { slug, name, pool, ownerEmail } };
}

export function isEmail(value: string): boolean {
  return EMAIL_PATTERN.test(value);
}
