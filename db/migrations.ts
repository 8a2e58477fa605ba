// Every migration, in order: imported here rather than found on disk, so that they run the same from the sources
// (tsx, Vitest) and from the command line's compiled bundle (scripts/build-cli.mjs). A new migration is added to
// migrations/ and listed here; tests/db/migrations.test.ts fails while the two differ.
import type { Migration } from 'kysely';
import * as m20261128_01_customers_and_gpus from '../migrations/20261128_01_customers_and_gpus.js';
import * as m20261128_02_telemetry_and_tokens from '../migrations/20261128_02_telemetry_and_tokens.js';
import * as m20261128_03_prices_and_reservations from '../migrations/20261128_03_prices_and_reservations.js';
import * as m20261128_04_ingestion from '../migrations/20261128_04_ingestion.js';
import * as m20261128_05_recommendations from '../migrations/20261128_05_recommendations.js';
import * as m20261128_06_accounts_and_audit from '../migrations/20261128_06_accounts_and_audit.js';
import * as m20261128_07_emails from '../migrations/20261128_07_emails.js';
import * as m20261128_08_sample_retention from '../migrations/20261128_08_sample_retention.js';
import * as m20261128_10_dashboard_indexes from '../migrations/20261128_10_dashboard_indexes.js';
import * as m20261128_20_email_delivery from '../migrations/20261128_20_email_delivery.js';
import * as m20261129_01_sample_keys_per_day from '../migrations/20261129_01_sample_keys_per_day.js';
import * as m20261129_02_daily_usage from '../migrations/20261129_02_daily_usage.js';

export const migrations: Record<string, Migration> = {
  '20261128_01_customers_and_gpus': m20261128_01_customers_and_gpus,
  '20261128_02_telemetry_and_tokens': m20261128_02_telemetry_and_tokens,
  '20261128_03_prices_and_reservations': m20261128_03_prices_and_reservations,
  '20261128_04_ingestion': m20261128_04_ingestion,
  '20261128_05_recommendations': m20261128_05_recommendations,
  '20261128_06_accounts_and_audit': m20261128_06_accounts_and_audit,
  '20261128_07_emails': m20261128_07_emails,
  '20261128_08_sample_retention': m20261128_08_sample_retention,
  '20261128_10_dashboard_indexes': m20261128_10_dashboard_indexes,
  '20261128_20_email_delivery': m20261128_20_email_delivery,
  '20261129_01_sample_keys_per_day': m20261129_01_sample_keys_per_day,
  '20261129_02_daily_usage': m20261129_02_daily_usage,
};
