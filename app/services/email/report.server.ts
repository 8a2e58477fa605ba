// Loads what a weekly email says: the cost engine's evaluation of the week, the week before and the four
// weeks the recommendation reads (each window evaluated once per run and shared by every recipient in the same
// zone), reservations, failed pulls. Then report.ts shapes it and render.ts writes it.
import type { Db } from '../../../db/client.js';
import { failedRunsBetween } from '../../../db/queries/email-report.js';
import { reservationsMeeting } from '../../../db/queries/reservations.js';
import { costWindow, weekWindow, type IsoWeek } from '../../domain/weeks.js';
import { evaluateWindow } from '../costing.server.js';
import {
  buildCustomerReport,
  buildDigest,
  evaluatedWindow,
  EXPIRING_DAYS,
  reportPeriod,
  reportWeeks,
  type CustomerReport,
  type DigestReport,
  type EvaluatedWindow,
} from './report.js';
import { renderReport, type RenderedEmail } from './render.js';

const DAY_MS = 86_400_000;

export type ReportSubject = { kind: 'digest' } | { kind: 'customer'; customer: { slug: string; name: string; pool: string | null } };

/** Evaluations kept for one run: recipients in one zone read the same windows. */
export class ReportCache {
  private readonly windows = new Map<string, Promise<EvaluatedWindow>>();

  window(db: Db, first: IsoWeek, last: IsoWeek, zone: string): Promise<EvaluatedWindow> {
    const start = weekWindow(first, zone).start;
    const end = weekWindow(last, zone).end;
    const priced = costWindow({ start, end });
    const key = `${priced.from.toISOString()}|${priced.to.toISOString()}|${zone}|${first.year}-${first.week}|${last.year}-${last.week}`;
    let hit = this.windows.get(key);
    if (!hit) {
      hit = evaluateWindow(db, { from: priced.from, to: priced.to, overflow: 'on_demand' }).then((e) =>
        evaluatedWindow(reportPeriod(last, zone, { start, end }, priced, first), e),
      );
      // A failed evaluation is not kept: the next recipient tries again.
      hit.catch(() => this.windows.delete(key));
      this.windows.set(key, hit);
    }
    return hit;
  }
}

/** A calendar date in a zone, YYYY-MM-DD. */
export function dayIn(zone: string): (d: Date) => string {
  const f = new Intl.DateTimeFormat('en-CA', { timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit' });
  return (d) => f.format(d);
}

/** The report of a week for a digest recipient or a customer, in a zone. */
export async function buildReport(db: Db, subject: ReportSubject, week: IsoWeek, zone: string, cache = new ReportCache()): Promise<DigestReport | CustomerReport> {
  const weeks = reportWeeks(week);
  const [thisWeek, previous, recommendation] = await Promise.all([
    cache.window(db, week, week, zone),
    cache.window(db, weeks.previous, weeks.previous, zone),
    cache.window(db, weeks.first, week, zone),
  ]);
  const end = thisWeek.period.end;
  const reservations = await reservationsMeeting(db, { from: recommendation.period.from, to: new Date(end.getTime() + EXPIRING_DAYS * DAY_MS) });
  const day = dayIn(zone);
  if (subject.kind === 'digest') {
    const failedRuns = await failedRunsBetween(db, thisWeek.period.start, end);
    return buildDigest({ week: thisWeek, previous, recommendation, reservations, failedRuns, day });
  }
  return buildCustomerReport({ week: thisWeek, previous, recommendation, reservations, day, customer: subject.customer });
}

/** The email of a report, ready to send or preview. */
export async function renderEmail(
  db: Db,
  subject: ReportSubject,
  week: IsoWeek,
  zone: string,
  ctx: { appUrl: string; recipient: string },
  cache?: ReportCache,
): Promise<RenderedEmail & { report: DigestReport | CustomerReport }> {
  const report = await buildReport(db, subject, week, zone, cache);
  return { ...renderReport(report, ctx), report };
}
