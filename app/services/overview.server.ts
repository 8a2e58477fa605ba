import { fleetSummary } from '../../db/queries/fleet-summary.js';
import { db } from '../lib/db.server';

export async function loadOverview() {
  return fleetSummary(db());
}
