// The weekly emails as a mail client shows them: HTML built from nested tables with inline styles (what
// Outlook, Gmail and Apple Mail all render), a plain-text part with the same content, and a subject that states
// the headline. No images, no scripts, no tracking: every link is a page of Breakeven at APP_URL.
// Numbers go through app/lib/format.ts, as on the dashboard.
import { formatCompact, formatInteger, formatPercent, formatUsd } from '../../lib/format.js';
import { termLabel, type CustomerReport, type DigestReport, type RecommendationLine, type ReportPeriod, type Scenarios } from './report.js';

export interface RenderedEmail {
  subject: string;
  html: string;
  text: string;
}

export interface RenderContext {
  /** APP_URL without a trailing slash. */
  appUrl: string;
  /** Who it is for, named in the footer. */
  recipient: string;
}

// ---- formatting -------------------------------------------------------------------------------------------

const wholeUsd = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD', maximumFractionDigits: 0 });
/** Whole dollars, for subjects only: the body shows cents as the dashboard does. */
const usd0 = (v: number) => wholeUsd.format(v);
const MINUS = '\u2212';

function signedUsd(v: number): string {
  if (Math.abs(v) < 0.005) return formatUsd(0);
  return `${v > 0 ? '+' : MINUS}${formatUsd(Math.abs(v))}`;
}

function change(now: number | null, before: number | null): { text: string; amount: string; share: string; direction: 'up' | 'down' | 'flat' | 'none' } {
  if (now === null || before === null) return { text: '—', amount: '—', share: '', direction: 'none' };
  const delta = now - before;
  if (Math.abs(delta) < 0.005) return { text: 'no change', amount: 'no change', share: '', direction: 'flat' };
  const share = before > 0 ? `(${delta > 0 ? '+' : MINUS}${formatPercent(Math.abs(delta) / before)})` : '';
  const amount = signedUsd(delta);
  return { text: share ? `${amount} ${share}` : amount, amount, share, direction: delta > 0 ? 'up' : 'down' };
}

const usdOrDash = (v: number | null) => (v === null ? '—' : formatUsd(v));
const gpus = (n: number) => (Number.isInteger(n) ? formatInteger(n) : n.toFixed(1));

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
function shortDate(iso: string): { day: number; month: string; year: string } {
  const [y, m, d] = iso.split('-');
  return { day: Number(d), month: MONTHS[Number(m) - 1], year: y };
}

/** "Mon 16 Nov – Sun 22 Nov 2026". */
export function weekRange(p: Pick<ReportPeriod, 'monday' | 'sunday'>): string {
  const a = shortDate(p.monday);
  const b = shortDate(p.sunday);
  return a.year === b.year ? `Mon ${a.day} ${a.month} – Sun ${b.day} ${b.month} ${b.year}` : `Mon ${a.day} ${a.month} ${a.year} – Sun ${b.day} ${b.month} ${b.year}`;
}

function fromTo(p: Pick<ReportPeriod, 'monday' | 'sunday'>): string {
  const a = shortDate(p.monday);
  const b = shortDate(p.sunday);
  return `${a.day} ${a.month} – ${b.day} ${b.month} ${b.year}`;
}

const BASELINE: Record<RecommendationLine['baseline'], string> = {
  current: 'its reservations',
  api: 'the inference API',
  on_demand: 'on-demand GPUs',
};

// ---- links ------------------------------------------------------------------------------------------------

export interface Links {
  overview: string;
  customer(slug: string): string;
  pool(name: string): string;
  recommendations: string;
  reservations: string;
  ingestion: string;
  emails: string;
}

/** Absolute links at APP_URL; pages take the local week's dates as `from`/`to` (to exclusive), as the dashboard does. */
export function linksFor(appUrl: string, period: ReportPeriod, recommendation: ReportPeriod): Links {
  const base = appUrl.replace(/\/$/, '');
  const week = `from=${period.monday}&to=${period.nextMonday}`;
  return {
    overview: `${base}/?${week}`,
    customer: (slug) => `${base}/customers/${encodeURIComponent(slug)}?${week}`,
    pool: (name) => `${base}/pools/${encodeURIComponent(name)}?${week}`,
    recommendations: `${base}/recommendations?from=${recommendation.monday}&to=${recommendation.nextMonday}`,
    reservations: `${base}/reservations`,
    ingestion: `${base}/ingestion`,
    emails: `${base}/emails`,
  };
}

const scopeLink = (links: Links, r: { scope: 'pool' | 'customer'; key: string }) => (r.scope === 'pool' ? links.pool(r.key) : links.customer(r.key));
const scopeName = (r: { scope: 'pool' | 'customer'; key: string }) => (r.scope === 'pool' ? `${r.key} pool` : r.key);

// ---- subjects ---------------------------------------------------------------------------------------------

function actionPhrase(r: RecommendationLine, own: boolean): string {
  const where = own ? '' : r.scope === 'pool' ? ` to the ${r.key} pool` : ` for ${r.key}`;
  if (r.current_gpus === 0) return `reserving ${r.recommended_gpus} ${r.gpu_type}${own ? '' : r.scope === 'pool' ? ` for the ${r.key} pool` : ` for ${r.key}`}`;
  if (r.delta > 0) return `adding ${r.delta} ${r.gpu_type}${where}`;
  return `dropping ${-r.delta} ${r.gpu_type}${own ? '' : r.scope === 'pool' ? ` from the ${r.key} pool` : ` for ${r.key}`}`;
}

export function digestSubject(r: DigestReport): string {
  const top = r.changes.find((c) => c.saving_per_week >= 0.5);
  const head = `Breakeven week ${r.period.week}: ${usd0(r.scenarios.as_run)} on inference`;
  return top ? `${head}, save ${usd0(top.saving_per_week)}/week by ${actionPhrase(top, false)}` : `${head}, reservations on target`;
}

export function customerSubject(r: CustomerReport): string {
  const head = `Breakeven week ${r.period.week} for ${r.customer.name}`;
  if (!r.week) return `${head}: no usage`;
  const rec = r.recommendation;
  const own = rec !== null && rec.scope === 'customer';
  const amount = r.pool_share ? `${usd0(r.pool_share.usd)} share of the ${r.customer.pool} pool` : usd0(r.week.scenarios.as_run);
  if (rec && rec.delta !== 0 && rec.saving_per_week >= 0.5) {
    return `${head}: ${amount}, save ${usd0(rec.saving_per_week)}/week by ${actionPhrase(rec, own)}`;
  }
  return `${head}: ${amount}`;
}

// ---- HTML building blocks ---------------------------------------------------------------------------------

const FONT = "-apple-system,BlinkMacSystemFont,'Segoe UI',Roboto,Helvetica,Arial,sans-serif";
const INK = '#111827';
const MUTED = '#6b7280';
const LINE = '#e5e7eb';
const ACCENT = '#0f766e';
const WARN_BG = '#fffbeb';
const WARN_LINE = '#f59e0b';

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** A figure that links to the page it comes from. */
function a(href: string, label: string, style = ''): string {
  return `<a href="${escapeHtml(href)}" target="_blank" style="color:${INK};text-decoration:none;border-bottom:1px solid #cbd5e1;${style}">${escapeHtml(label)}</a>`;
}

function plainLink(href: string, label: string): string {
  return `<a href="${escapeHtml(href)}" target="_blank" style="color:${ACCENT};text-decoration:underline;">${escapeHtml(label)}</a>`;
}

function section(title: string, body: string, note = ''): string {
  return `<tr><td class="px" style="padding:24px 32px 0 32px;font-family:${FONT};">
<h2 style="margin:0 0 4px 0;font-size:17px;line-height:24px;font-weight:700;color:${INK};">${escapeHtml(title)}</h2>
${note ? `<p style="margin:0 0 12px 0;font-size:13px;line-height:19px;color:${MUTED};">${note}</p>` : '<div style="height:8px;line-height:8px;font-size:8px;">&nbsp;</div>'}
${body}
</td></tr>`;
}

function table(head: string[], rows: string[][], align: ('left' | 'right')[], classes: string[] = []): string {
  const cls = (i: number) => (classes[i] ? ` class="${classes[i]}"` : '');
  const th = head
    .map((h, i) => `<th${cls(i)} align="${align[i]}" style="padding:8px 6px;border-bottom:2px solid ${LINE};font-size:12px;line-height:16px;font-weight:600;color:${MUTED};text-transform:uppercase;letter-spacing:0.03em;">${escapeHtml(h)}</th>`)
    .join('');
  const body = rows
    .map(
      (cells) =>
        `<tr>${cells.map((c, i) => `<td${cls(i)} align="${align[i]}" valign="top" style="padding:9px 6px;border-bottom:1px solid ${LINE};font-size:14px;line-height:20px;color:${INK};${align[i] === 'right' ? 'font-variant-numeric:tabular-nums;' : ''}">${c}</td>`).join('')}</tr>`,
    )
    .join('\n');
  return `<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="border-collapse:collapse;font-family:${FONT};">
<tr>${th}</tr>
${body}
</table>`;
}

function changeCell(c: ReturnType<typeof change>, goodWhenDown = true, stacked = false): string {
  const color = c.direction === 'none' || c.direction === 'flat' ? MUTED : (c.direction === 'down') === goodWhenDown ? ACCENT : '#b45309';
  // In a table the share goes under the amount, so four columns fit a phone.
  if (stacked && c.share) return `<span style="color:${color};white-space:nowrap;">${escapeHtml(c.amount)}</span><br><span style="color:${color};font-size:12px;white-space:nowrap;">${escapeHtml(c.share)}</span>`;
  return `<span style="color:${color};">${escapeHtml(c.text)}</span>`;
}

function callout(html: string): string {
  return `<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="margin:0 0 8px 0;"><tr>
<td style="padding:10px 14px;background:${WARN_BG};border-left:4px solid ${WARN_LINE};font-family:${FONT};font-size:13px;line-height:19px;color:${INK};">${html}</td></tr></table>`;
}

function para(html: string, muted = false): string {
  return `<p style="margin:0 0 10px 0;font-family:${FONT};font-size:14px;line-height:21px;color:${muted ? MUTED : INK};">${html}</p>`;
}

function document(subject: string, preheader: string, kicker: string, title: string, subtitle: string, rows: string[], footer: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light">
<meta name="supported-color-schemes" content="light">
<title>${escapeHtml(subject)}</title>
<style>
/* Progressive enhancement for narrow screens; everything else is inline. */
@media only screen and (max-width: 520px) {
  .px { padding-left: 16px !important; padding-right: 16px !important; }
  .outer { padding: 8px 4px !important; }
  .wide-only { display: none !important; }
}
</style>
</head>
<body style="margin:0;padding:0;background:#f3f4f6;">
<div style="display:none;max-height:0;overflow:hidden;mso-hide:all;">${escapeHtml(preheader)}</div>
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="background:#f3f4f6;">
<tr><td class="outer" align="center" style="padding:24px 12px;">
<table role="presentation" width="640" cellpadding="0" cellspacing="0" border="0" style="width:100%;max-width:640px;background:#ffffff;border:1px solid ${LINE};border-radius:10px;">
<tr><td class="px" style="padding:24px 32px 20px 32px;border-bottom:1px solid ${LINE};font-family:${FONT};">
<p style="margin:0 0 6px 0;font-size:12px;line-height:16px;font-weight:700;letter-spacing:0.08em;text-transform:uppercase;color:${ACCENT};">${escapeHtml(kicker)}</p>
<h1 style="margin:0;font-size:24px;line-height:30px;font-weight:700;color:${INK};">${escapeHtml(title)}</h1>
<p style="margin:6px 0 0 0;font-size:14px;line-height:20px;color:${MUTED};">${escapeHtml(subtitle)}</p>
</td></tr>
${rows.join('\n')}
<tr><td class="px" style="padding:28px 32px 28px 32px;font-family:${FONT};font-size:12px;line-height:18px;color:${MUTED};">${footer}</td></tr>
</table>
</td></tr>
</table>
</body>
</html>
`;
}

function headline(label: string, amountHtml: string, sub: string, right?: { label: string; amountHtml: string; sub: string }): string {
  const cell = (l: string, amt: string, s: string, color = INK) => `<td valign="top" style="padding:0 12px 0 0;font-family:${FONT};">
<p style="margin:0;font-size:12px;line-height:16px;text-transform:uppercase;letter-spacing:0.05em;color:${MUTED};">${escapeHtml(l)}</p>
<p style="margin:4px 0 2px 0;font-size:30px;line-height:36px;font-weight:700;color:${color};font-variant-numeric:tabular-nums;">${amt}</p>
<p style="margin:0;font-size:13px;line-height:18px;color:${MUTED};">${s}</p></td>`;
  return `<tr><td class="px" style="padding:22px 32px 0 32px;">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0"><tr>
${cell(label, amountHtml, sub)}
${right ? cell(right.label, right.amountHtml, right.sub, ACCENT) : ''}
</tr></table></td></tr>`;
}

function recommendationBlock(r: RecommendationLine, links: Links, showScope: boolean): string {
  const facts: string[] = [];
  facts.push(`saves ${a(links.recommendations, formatUsd(r.saving_per_week), `color:${ACCENT};font-weight:600;`)} a week against ${BASELINE[r.baseline]}`);
  if (r.fill !== null) facts.push(`fill ${escapeHtml(formatPercent(r.fill))}${r.break_even_fill !== null ? ` (breaks even at ${escapeHtml(formatPercent(r.break_even_fill))})` : ''}`);
  const offer = r.provider ? `${escapeHtml(r.provider)}, ${escapeHtml(termLabel(r.term_days))}${r.usd_per_gpu_hour !== null ? ` at ${escapeHtml(formatUsd(r.usd_per_gpu_hour))}/GPU-h` : ''}` : '';
  const risk = r.risk
    ? `Risk levels: floor ${gpus(r.risk.floor)} (never idle) · balanced ${gpus(r.risk.balanced)} · optimal ${gpus(r.risk.optimal)} ${escapeHtml(r.gpu_type)}`
    : '';
  const title = `${escapeHtml(r.action)}${showScope ? ` <span style="font-weight:400;color:${MUTED};">·</span> ${a(scopeLinkOf(r, links), scopeName(r), 'font-weight:600;')}` : ''}`;
  return `<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="margin:0 0 10px 0;"><tr>
<td style="padding:12px 14px;border:1px solid ${LINE};border-left:4px solid ${ACCENT};border-radius:6px;font-family:${FONT};">
<p style="margin:0 0 4px 0;font-size:15px;line-height:22px;font-weight:700;color:${INK};">${title}</p>
<p style="margin:0 0 2px 0;font-size:14px;line-height:20px;color:${INK};">${facts.join('; ')}</p>
<p style="margin:0;font-size:13px;line-height:19px;color:${MUTED};">${[risk, offer].filter(Boolean).join(' · ')}</p>
${r.recent?.flagged ? `<p style="margin:6px 0 0 0;font-size:13px;line-height:19px;color:#b45309;">The last 3 days support only ${gpus(r.recent.gpus)} ${escapeHtml(r.gpu_type)}: check demand before committing.</p>` : ''}
</td></tr></table>`;
}

const scopeLinkOf = (r: RecommendationLine, links: Links) => scopeLink(links, r);

interface ScenarioRow {
  label: string;
  note: string;
  now: number | null;
  before: number | null;
  href: string;
}

function scenarioTable(rows: ScenarioRow[], week: string, previous: string): string {
  return table(
    ['Scenario', week, previous, 'Change'],
    rows.map((r) => [
      `<span style="font-weight:600;">${escapeHtml(r.label)}</span>${r.note ? `<br><span style="font-size:12px;color:${MUTED};">${escapeHtml(r.note)}</span>` : ''}`,
      r.now === null ? '—' : a(r.href, formatUsd(r.now)),
      r.before === null ? '—' : escapeHtml(formatUsd(r.before)),
      changeCell(change(r.now, r.before), true, true),
    ]),
    ['left', 'right', 'right', 'right'],
    ['', '', 'wide-only', ''],
  );
}

/** The four scenarios of a scope; a pool member's first row is its share of the pool's reservation. */
function scenarioList(
  now: Scenarios,
  before: Scenarios | null,
  notes: { as_run: string; recommended: string },
  hrefs: { as_run: string; recommended: string; other: string },
  share?: { label: string; note: string; now: number; before: number | null },
): ScenarioRow[] {
  const row = (label: string, note: string, key: keyof Scenarios, href: string): ScenarioRow => ({ label, note, now: now[key], before: before?.[key] ?? null, href });
  return [
    share ? { label: share.label, note: share.note, now: share.now, before: share.before, href: hrefs.as_run } : row('As run today', notes.as_run, 'as_run', hrefs.as_run),
    row(share ? 'If it reserved alone' : 'Reserved as recommended', notes.recommended, 'recommended', hrefs.recommended),
    row('All on-demand GPUs', 'pay per GPU-hour while running', 'on_demand', hrefs.other),
    row('All inference API', 'pay per token', 'api', hrefs.other),
  ];
}

function footer(ctx: RenderContext, links: Links, period: ReportPeriod, what: string): string {
  return [
    `Figures come from Breakeven's cost engine, the same as the dashboard, for ${escapeHtml(weekRange(period))} in ${escapeHtml(period.zone)} (priced over whole UTC hours ${escapeHtml(period.from.toISOString().slice(0, 16).replace('T', ' '))} – ${escapeHtml(period.to.toISOString().slice(0, 16).replace('T', ' '))} UTC). Demand is GPUs at each type's target utilization; "as run today" prices your existing reservations, or on-demand GPUs, or the API for customers without GPU telemetry.`,
    `Sent to ${escapeHtml(ctx.recipient)}, ${escapeHtml(what)}. Recipients and the email log are on ${plainLink(links.emails, 'the Emails page')}; an admin can unsubscribe you there.`,
  ]
    .map((p) => `<p style="margin:0 0 8px 0;">${p}</p>`)
    .join('');
}

// ---- the digest -------------------------------------------------------------------------------------------

export function renderDigest(r: DigestReport, ctx: RenderContext): RenderedEmail {
  const links = linksFor(ctx.appUrl, r.period, r.recommendation_period);
  const subject = digestSubject(r);
  const total = change(r.scenarios.as_run, r.previous_scenarios.as_run);
  const weeklySaving = r.changes.reduce((acc, c) => acc + Math.max(0, c.saving_per_week), 0);
  const rows: string[] = [];

  rows.push(
    headline(
      'Inference cost last week, as run today',
      a(links.overview, formatUsd(r.scenarios.as_run), 'border-bottom:none;'),
      `${changeCell(total)} on ${escapeHtml(r.previous.week)} · ${formatInteger(r.scopes)} reservation scopes`,
      weeklySaving > 0
        ? { label: 'Recommended changes would save', amountHtml: `${a(links.recommendations, formatUsd(weeklySaving), `border-bottom:none;color:${ACCENT};`)}`, sub: `a week, from ${formatInteger(r.changes.filter((c) => c.saving_per_week > 0).length)} change(s) below` }
        : undefined,
    ),
  );

  rows.push(
    section(
      'Last week under each scenario',
      scenarioTable(
        scenarioList(
          r.scenarios,
          r.previous_scenarios,
          { as_run: 'your reservations, else on-demand or API', recommended: 'every scope on its recommendation' },
          { as_run: links.overview, recommended: links.recommendations, other: links.overview },
        ),
        r.period.week,
        r.previous.week,
      ),
    ),
  );

  const recNote = `From the ${escapeHtml(String(4))} weeks ${escapeHtml(fromTo(r.recommendation_period))}; savings are per week against what each scope pays today.`;
  rows.push(
    section(
      'Recommended reservation changes',
      r.changes.length
        ? r.changes.map((c) => recommendationBlock(c, links, true)).join('\n')
        : para(`No change recommended: ${formatInteger(r.on_target.length)} reservation(s) already match demand.`),
      recNote + (r.changes.length && r.on_target.length ? ` ${formatInteger(r.on_target.length)} other reservation(s) already match demand.` : ''),
    ),
  );

  rows.push(
    section(
      'Reservations expiring within 30 days',
      r.expiring.length
        ? table(
            ['Reservation', 'GPUs', 'Ends', 'Recommended'],
            r.expiring.map((e) => [
              `${a(scopeLink(links, e), scopeName(e))}<br><span style="font-size:12px;color:${MUTED};">${escapeHtml(e.provider)} · ${escapeHtml(formatUsd(e.usd_per_gpu_hour))}/GPU-h</span>`,
              a(links.reservations, `${formatInteger(e.gpus)} ${e.gpu_type}`),
              escapeHtml(e.ends_on),
              e.recommended_gpus === null
                ? '—'
                : e.recommended_gpus === e.gpus
                  ? `renew ${formatInteger(e.recommended_gpus)}`
                  : `${a(links.recommendations, `${formatInteger(e.recommended_gpus)} ${e.gpu_type}`)}`,
            ]),
            ['left', 'right', 'right', 'right'],
          )
        : para('None: no reservation ends in the next 30 days.', true),
    ),
  );

  rows.push(
    section(
      'Idle reserved capacity',
      r.idle.lines.length
        ? table(
            ['Reservation', 'GPUs', 'Fill', 'Idle cost'],
            r.idle.lines.map((l) => [
              a(scopeLink(links, l), scopeName(l)),
              `${formatInteger(l.gpus)} ${escapeHtml(l.gpu_type)}`,
              escapeHtml(formatPercent(l.fill)),
              a(links.reservations, formatUsd(l.idle_usd)),
            ]),
            ['left', 'right', 'right', 'right'],
          )
        : para('No reservation was active last week.', true),
      r.idle.lines.length ? `${escapeHtml(formatUsd(r.idle.total_usd))} of reserved GPU time sat idle last week.` : '',
    ),
  );

  if (r.guard.length) {
    rows.push(
      section(
        'Recent demand no longer supports these recommendations',
        r.guard
          .map((g) =>
            callout(
              `${a(scopeLink(links, g), scopeName(g), 'font-weight:600;')}: the recommendation is ${formatInteger(g.recommended_gpus)} ${escapeHtml(g.gpu_type)}, the last 3 days alone support ${gpus(g.recent!.gpus)}.`,
            ),
          )
          .join('\n'),
      ),
    );
  }

  const gapItems: string[] = [];
  for (const g of r.gaps.customers) {
    gapItems.push(`${a(links.customer(g.customer), g.customer)}: ${formatInteger(g.hours_without_data)} of ${formatInteger(g.hours)} hours without data (${escapeHtml(g.gpu_type)}); its figures count them as no demand.`);
  }
  for (const f of r.gaps.failed_runs) {
    gapItems.push(`${a(links.ingestion, f.what)}: ${formatInteger(f.failures)} failed pull(s), the last: ${escapeHtml((f.last_error ?? 'no message').slice(0, 200))}`);
  }
  for (const s of r.gaps.skipped) {
    gapItems.push(`${escapeHtml(s.scope.customer ?? `${s.scope.pool} pool`)} on ${escapeHtml(s.gpu_type)} could not be priced: ${escapeHtml(s.reason)}`);
  }
  rows.push(
    section(
      'Data gaps',
      gapItems.length ? gapItems.map((g) => callout(g)).join('\n') : para('None: every customer had data for every hour, and every pull succeeded.', true),
      gapItems.length ? 'Figures that rest on missing hours are lower than they should be.' : '',
    ),
  );

  const html = document(
    subject,
    `${formatUsd(r.scenarios.as_run)} last week; ${r.changes.length} recommended change(s).`,
    'Breakeven · weekly digest',
    `Week ${r.period.week}`,
    `${weekRange(r.period)} · ${r.period.zone}`,
    rows,
    footer(ctx, links, r.period, 'who gets the weekly finance digest'),
  );
  return { subject, html, text: digestText(r, ctx, links, subject) };
}

// ---- the customer email -----------------------------------------------------------------------------------

export function renderCustomer(r: CustomerReport, ctx: RenderContext): RenderedEmail {
  const links = linksFor(ctx.appUrl, r.period, r.recommendation_period);
  const subject = customerSubject(r);
  const page = links.customer(r.customer.slug);
  const rows: string[] = [];
  const w = r.week;
  if (!w) {
    rows.push(section('No usage last week', para(`Breakeven has no token usage or GPU telemetry for ${escapeHtml(r.customer.name)} in ${escapeHtml(weekRange(r.period))}. ${plainLink(links.ingestion, 'Check ingestion')}.`)));
  } else {
    const share = r.pool_share;
    const poolLink = r.customer.pool ? links.pool(r.customer.pool) : page;
    const lead = share
      ? { label: `Share of the ${r.customer.pool} pool's reservation`, now: share.usd, before: r.previous_pool_share?.usd ?? null, href: poolLink }
      : { label: `Last week on ${BASELINE[w.baseline]}`, now: w.scenarios.as_run, before: r.previous_week?.scenarios.as_run ?? null, href: page };
    rows.push(
      headline(
        lead.label,
        a(lead.href, formatUsd(lead.now), 'border-bottom:none;'),
        `${changeCell(change(lead.now, lead.before))} on ${escapeHtml(r.previous.week)}${share ? ` · the pool's ${share.basis === 'current' ? '' : 'recommended '}reservation cost ${escapeHtml(formatUsd(share.pool_total_usd))}` : ''}`,
        r.recommendation && r.recommendation.delta !== 0 && r.recommendation.saving_per_week > 0
          ? {
              label: r.recommendation.scope === 'pool' ? `The ${r.recommendation.key} pool could save` : 'A reservation could save',
              amountHtml: a(links.recommendations, formatUsd(r.recommendation.saving_per_week), `border-bottom:none;color:${ACCENT};`),
              sub: 'a week',
            }
          : undefined,
      ),
    );
    const usage: string[][] = [
      ['Requests', a(page, formatInteger(w.requests))],
      ['Input tokens', `${a(page, formatCompact(w.input_tokens))}${w.cached_input_tokens > 0 ? ` <span style="color:${MUTED};">(${escapeHtml(formatCompact(w.cached_input_tokens))} cached)</span>` : ''}`],
      ['Output tokens', a(page, formatCompact(w.output_tokens))],
      ['GPU-hours measured', w.gpu_hours > 0 ? `${a(page, formatInteger(Math.round(w.gpu_hours)))} <span style="color:${MUTED};">(${escapeHtml(formatPercent(w.busy_gpu_hours / w.gpu_hours))} busy)</span>` : `<span style="color:${MUTED};">no GPU telemetry</span>`],
      [`Demand, ${escapeHtml(w.gpu_type)} GPU-hours`, `${a(page, formatInteger(Math.round(w.demand_gpu_hours)))} <span style="color:${MUTED};">at target utilization</span>`],
    ];
    if (w.hours_without_data > 0) usage.push(['Hours without data', `<span style="color:#b45309;">${formatInteger(w.hours_without_data)} of ${formatInteger(w.hours)}</span>`]);
    rows.push(section('Usage', table(['', r.period.week], usage, ['left', 'right'])));
    rows.push(
      section(
        'Cost under each scenario',
        scenarioTable(
          scenarioList(
            w.scenarios,
            r.previous_week?.scenarios ?? null,
            { as_run: BASELINE[w.baseline], recommended: `on ${w.gpu_type}` },
            { as_run: page, recommended: links.recommendations, other: page },
            share ? { label: "Share of the pool's reservation", note: `showback of the ${r.customer.pool} pool`, now: share.usd, before: r.previous_pool_share?.usd ?? null } : undefined,
          ),
          r.period.week,
          r.previous.week,
        ),
        share
          ? `${escapeHtml(r.customer.name)} runs on the ${a(poolLink, `${r.customer.pool} pool`)}'s reserved GPUs, shared with the pool's other customers: it pays the part of each hour it used and its share of the idle time. The other rows are what it would cost on its own.`
          : '',
      ),
    );
  }

  const rec = r.recommendation;
  if (rec) {
    const why: string[] = [];
    why.push(
      `Over the 4 weeks ${escapeHtml(fromTo(r.recommendation_period))}, ${rec.scope === 'pool' ? `the ${escapeHtml(rec.key)} pool's` : 'its'} demand averaged ${escapeHtml(gpus(Math.round(rec.demand.mean_gpus * 10) / 10))} ${escapeHtml(rec.gpu_type)} (95th percentile ${escapeHtml(gpus(Math.round(rec.demand.p95_gpus * 10) / 10))}, peak ${escapeHtml(gpus(Math.round(rec.demand.peak_gpus * 10) / 10))}).`,
    );
    if (rec.recommended_gpus > 0 && rec.fill !== null) {
      why.push(
        `${formatInteger(rec.recommended_gpus)} reserved GPUs would have been ${escapeHtml(formatPercent(rec.fill))} full${rec.break_even_fill !== null ? `, ${rec.fill >= rec.break_even_fill ? 'above' : 'below'} the ${escapeHtml(formatPercent(rec.break_even_fill))} at which a reservation pays for itself` : ''}; beyond them, demand overflows to on-demand GPUs.`,
      );
    } else {
      why.push('No reservation would have paid for itself: demand is too low or too uneven for a reserved GPU to be full enough.');
    }
    const against: string[] = [];
    if (rec.savings_vs_on_demand_per_week !== null) against.push(`${escapeHtml(formatUsd(rec.savings_vs_on_demand_per_week))} against all on-demand GPUs`);
    if (rec.savings_vs_api_per_week !== null) against.push(`${escapeHtml(formatUsd(rec.savings_vs_api_per_week))} against the API`);
    if (against.length) why.push(`Reserved so, ${rec.scope === 'pool' ? 'the pool saves' : 'it saves'} ${against.join(' and ')} a week.`);
    if (rec.stability) {
      why.push(
        rec.stability.min_gpus === rec.stability.max_gpus
          ? `Computed week by week, the optimum was ${formatInteger(rec.stability.min_gpus)} GPUs every time.`
          : `Computed week by week, the optimum ranged from ${formatInteger(rec.stability.min_gpus)} to ${formatInteger(rec.stability.max_gpus)} GPUs.`,
      );
    }
    rows.push(
      section(
        rec.scope === 'pool' ? `The ${rec.key} pool's recommendation` : 'Recommendation',
        `${rec.delta !== 0 ? recommendationBlock(rec, links, rec.scope === 'pool') : para(`<span style="font-weight:700;">${escapeHtml(rec.action)}</span>: the current reservation already matches demand.`)}\n${para(why.join(' '))}`,
      ),
    );
  }

  const html = document(
    subject,
    w ? `${formatUsd(w.scenarios.as_run)} last week${rec && rec.delta !== 0 ? `; ${rec.action}` : ''}.` : 'No usage last week.',
    'Breakeven · customer week',
    `${r.customer.name} — week ${r.period.week}`,
    `${weekRange(r.period)} · ${r.period.zone}`,
    rows,
    footer(ctx, links, r.period, `the owner of ${r.customer.name} on Breakeven`),
  );
  return { subject, html, text: customerText(r, ctx, links, subject) };
}

// ---- plain text -------------------------------------------------------------------------------------------

function textTable(rows: string[][]): string[] {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => `  ${r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('   ')}`.trimEnd());
}

function scenarioText(rows: ScenarioRow[], week: string, previous: string): string[] {
  return textTable([['Scenario', week, previous, 'Change'], ...rows.map((r) => [r.label, usdOrDash(r.now), usdOrDash(r.before), change(r.now, r.before).text])]);
}

function recommendationText(r: RecommendationLine, withScope: boolean): string[] {
  const lines = [`- ${r.action}${withScope ? ` (${scopeName(r)})` : ''}: saves ${formatUsd(r.saving_per_week)} a week; fill ${formatPercent(r.fill)}${r.break_even_fill !== null ? ` (breaks even at ${formatPercent(r.break_even_fill)})` : ''}`];
  const details: string[] = [];
  if (r.risk) details.push(`risk levels: floor ${gpus(r.risk.floor)}, balanced ${gpus(r.risk.balanced)}, optimal ${gpus(r.risk.optimal)}`);
  if (r.provider) details.push(`${r.provider}, ${termLabel(r.term_days)}${r.usd_per_gpu_hour !== null ? ` at ${formatUsd(r.usd_per_gpu_hour)}/GPU-h` : ''}`);
  if (details.length) lines.push(`  ${details.join('; ')}`);
  if (r.recent?.flagged) lines.push(`  ! the last 3 days support only ${gpus(r.recent.gpus)} ${r.gpu_type}: check demand before committing`);
  return lines;
}

function textFooter(ctx: RenderContext, links: Links, period: ReportPeriod, what: string): string[] {
  return [
    '--',
    `Figures come from Breakeven's cost engine, the same as the dashboard, for ${weekRange(period)} in ${period.zone}.`,
    `Sent to ${ctx.recipient}, ${what}. Recipients and the email log: ${links.emails}`,
  ];
}

function digestText(r: DigestReport, ctx: RenderContext, links: Links, subject: string): string {
  const out: string[] = [subject, '', `Week ${r.period.week}: ${weekRange(r.period)} (${r.period.zone})`, ''];
  out.push(`Inference cost last week, as run today: ${formatUsd(r.scenarios.as_run)}; ${change(r.scenarios.as_run, r.previous_scenarios.as_run).text} on ${r.previous.week}`);
  out.push(`  ${links.overview}`, '');
  out.push('LAST WEEK UNDER EACH SCENARIO', ...scenarioText(scenarioList(r.scenarios, r.previous_scenarios, { as_run: '', recommended: '' }, { as_run: '', recommended: '', other: '' }), r.period.week, r.previous.week), '');
  out.push('RECOMMENDED RESERVATION CHANGES', `(from the 4 weeks ${fromTo(r.recommendation_period)}; ${links.recommendations})`);
  if (r.changes.length) for (const c of r.changes) out.push(...recommendationText(c, true));
  else out.push(`- none: ${r.on_target.length} reservation(s) already match demand`);
  out.push('', 'RESERVATIONS EXPIRING WITHIN 30 DAYS', `(${links.reservations})`);
  if (r.expiring.length) {
    for (const e of r.expiring) {
      const rec = e.recommended_gpus === null ? '' : e.recommended_gpus === e.gpus ? `; renew ${e.recommended_gpus}` : `; recommended ${e.recommended_gpus}`;
      out.push(`- ${scopeName(e)}: ${e.gpus} ${e.gpu_type} (${e.provider}) ends ${e.ends_on}${rec}`);
    }
  } else out.push('- none');
  out.push('', 'IDLE RESERVED CAPACITY');
  if (r.idle.lines.length) {
    out.push(`${formatUsd(r.idle.total_usd)} of reserved GPU time sat idle last week.`);
    for (const l of r.idle.lines) out.push(`- ${scopeName(l)}: ${l.gpus} ${l.gpu_type}, fill ${formatPercent(l.fill)}, idle ${formatUsd(l.idle_usd)}`);
  } else out.push('- no reservation was active last week');
  if (r.guard.length) {
    out.push('', 'RECENT DEMAND NO LONGER SUPPORTS THESE RECOMMENDATIONS');
    for (const g of r.guard) out.push(`- ${scopeName(g)}: recommended ${g.recommended_gpus} ${g.gpu_type}, the last 3 days support ${gpus(g.recent!.gpus)}`);
  }
  out.push('', 'DATA GAPS');
  const gaps = [
    ...r.gaps.customers.map((g) => `- ${g.customer}: ${g.hours_without_data} of ${g.hours} hours without data (${links.customer(g.customer)})`),
    ...r.gaps.failed_runs.map((f) => `- ${f.what}: ${f.failures} failed pull(s), the last: ${(f.last_error ?? 'no message').slice(0, 200)} (${links.ingestion})`),
    ...r.gaps.skipped.map((s) => `- ${s.scope.customer ?? `${s.scope.pool} pool`} on ${s.gpu_type} could not be priced: ${s.reason}`),
  ];
  out.push(...(gaps.length ? gaps : ['- none']), '');
  out.push(...textFooter(ctx, links, r.period, 'who gets the weekly finance digest'));
  return `${out.join('\n')}\n`;
}

function customerText(r: CustomerReport, ctx: RenderContext, links: Links, subject: string): string {
  const page = links.customer(r.customer.slug);
  const out: string[] = [subject, '', `${r.customer.name}, week ${r.period.week}: ${weekRange(r.period)} (${r.period.zone})`, ''];
  const w = r.week;
  if (!w) out.push('No token usage or GPU telemetry last week.', '');
  else {
    const share = r.pool_share;
    if (share) out.push(`Share of the ${r.customer.pool} pool's reservation last week: ${formatUsd(share.usd)} of the pool's ${formatUsd(share.pool_total_usd)}; ${change(share.usd, r.previous_pool_share?.usd ?? null).text} on ${r.previous.week}`, `  ${links.pool(r.customer.pool!)}`, '');
    else out.push(`Last week on ${BASELINE[w.baseline]}: ${formatUsd(w.scenarios.as_run)}; ${change(w.scenarios.as_run, r.previous_week?.scenarios.as_run ?? null).text} on ${r.previous.week}`, `  ${page}`, '');
    out.push('USAGE');
    out.push(
      ...textTable([
        ['Requests', formatInteger(w.requests)],
        ['Input tokens', `${formatCompact(w.input_tokens)}${w.cached_input_tokens > 0 ? ` (${formatCompact(w.cached_input_tokens)} cached)` : ''}`],
        ['Output tokens', formatCompact(w.output_tokens)],
        ['GPU-hours measured', w.gpu_hours > 0 ? `${formatInteger(Math.round(w.gpu_hours))} (${formatPercent(w.busy_gpu_hours / w.gpu_hours)} busy)` : 'no GPU telemetry'],
        [`Demand, ${w.gpu_type} GPU-hours`, formatInteger(Math.round(w.demand_gpu_hours))],
        ...(w.hours_without_data > 0 ? [['Hours without data', `${w.hours_without_data} of ${w.hours}`]] : []),
      ]),
      '',
    );
    const rowsText = scenarioList(
      w.scenarios,
      r.previous_week?.scenarios ?? null,
      { as_run: '', recommended: '' },
      { as_run: '', recommended: '', other: '' },
      share ? { label: "Share of the pool's reservation", note: '', now: share.usd, before: r.previous_pool_share?.usd ?? null } : undefined,
    );
    out.push('COST UNDER EACH SCENARIO', ...scenarioText(rowsText, r.period.week, r.previous.week));
    out.push('');
  }
  const rec = r.recommendation;
  if (rec) {
    out.push(rec.scope === 'pool' ? `THE ${rec.key.toUpperCase()} POOL'S RECOMMENDATION` : 'RECOMMENDATION', `(${links.recommendations})`);
    out.push(...(rec.delta !== 0 ? recommendationText(rec, rec.scope === 'pool') : [`- ${rec.action}: the current reservation already matches demand`]));
    out.push(
      `Why: over the 4 weeks ${fromTo(r.recommendation_period)} demand averaged ${gpus(Math.round(rec.demand.mean_gpus * 10) / 10)} ${rec.gpu_type} (p95 ${gpus(Math.round(rec.demand.p95_gpus * 10) / 10)}, peak ${gpus(Math.round(rec.demand.peak_gpus * 10) / 10)})${rec.fill !== null ? `; ${rec.recommended_gpus} reserved GPUs would have been ${formatPercent(rec.fill)} full` : ''}${rec.break_even_fill !== null ? `, break-even ${formatPercent(rec.break_even_fill)}` : ''}.`,
      '',
    );
  }
  out.push(...textFooter(ctx, links, r.period, `the owner of ${r.customer.name} on Breakeven`));
  return `${out.join('\n')}\n`;
}

/** The email of a report. */
export function renderReport(r: DigestReport | CustomerReport, ctx: RenderContext): RenderedEmail {
  return r.kind === 'digest' ? renderDigest(r, ctx) : renderCustomer(r, ctx);
}
