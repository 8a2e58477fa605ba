import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';

// int8 and numeric arrive as JS numbers (see db/client.ts and docs/decisions/001-money.md).
type Id = Generated<number>;
type CreatedAt = ColumnType<Date, Date | string | undefined, never>;
type Timestamp = ColumnType<Date, Date | string, Date | string>;

export interface PoolsTable {
  id: Id;
  name: string;
  created_at: CreatedAt;
}

export interface CustomersTable {
  id: Id;
  slug: string;
  name: string;
  pool_id: number | null;
  owner_email: string | null;
  created_at: CreatedAt;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

export interface GpuTypesTable {
  id: Id;
  name: string;
  memory_gib: number | null;
  target_utilization: ColumnType<number, number | undefined, number>;
}

export interface GpuTypeAliasesTable {
  alias: string;
  gpu_type_id: number;
}

export interface GpuAssignmentsTable {
  id: Id;
  customer_id: number;
  gpu_uuid: string;
  valid_from: Timestamp;
  valid_to: Date | null;
}

export interface GpuSamplesTable {
  customer_id: number;
  gpu_uuid: string;
  ts: Timestamp;
  gpu_type_id: number;
  utilization_pct: number;
  memory_used_mib: number | null;
  power_w: number | null;
  hostname: string | null;
  source_id: number | null;
}

export interface TokenUsageTable {
  customer_id: number;
  record_key: string;
  ts: Timestamp;
  model: string;
  input_tokens: number;
  cached_input_tokens: ColumnType<number, number | undefined, number>;
  cache_write_input_tokens: ColumnType<number, number | undefined, number>;
  output_tokens: number;
  requests: ColumnType<number, number | undefined, number>;
  source_id: number | null;
}

export interface HourlyGpuUsageTable {
  customer_id: number;
  gpu_type_id: number;
  hour: Timestamp;
  allocated_gpu_seconds: number;
  busy_gpu_seconds: number;
  samples: number;
}

export interface HourlyTokenUsageTable {
  customer_id: number;
  model: string;
  hour: Timestamp;
  input_tokens: number;
  cached_input_tokens: number;
  cache_write_input_tokens: number;
  output_tokens: number;
  requests: number;
}

export interface PriceBooksTable {
  id: Id;
  name: string;
  effective_from: Timestamp;
  effective_to: Date | null;
  document: unknown;
  imported_at: CreatedAt;
}

export type OfferKind = 'reserved' | 'on_demand' | 'api';

export interface OffersTable {
  id: Id;
  price_book_id: number;
  kind: OfferKind;
  provider: string;
  gpu_type_id: number | null;
  model: string | null;
  term_days: number | null;
  block_size: number | null;
  usd_per_gpu_hour: number | null;
  usd_per_mtok_input: number | null;
  usd_per_mtok_cached_input: number | null;
  usd_per_mtok_cache_write: number | null;
  usd_per_mtok_output: number | null;
  source: string | null;
  source_date: string | null;
}

export interface CapacityProfilesTable {
  id: Id;
  price_book_id: number;
  model: string;
  gpu_type_id: number;
  input_tokens_per_gpu_second: number;
  output_tokens_per_gpu_second: number;
  target_utilization: ColumnType<number, number | undefined, number>;
}

export interface ReservationsTable {
  id: Id;
  customer_id: number | null;
  pool_id: number | null;
  gpu_type_id: number;
  provider: string;
  gpus: number;
  usd_per_gpu_hour: number;
  starts_at: Timestamp;
  ends_at: Timestamp;
  note: string | null;
  created_at: CreatedAt;
}

export type SourceKind = 'prometheus-dcgm' | 'prometheus-vllm' | 'openai-usage';

export interface IngestionSourcesTable {
  id: Id;
  name: string;
  kind: SourceKind;
  url: string;
  config: ColumnType<Record<string, unknown>, string | undefined, string>;
  credentials_encrypted: Buffer | null;
  interval_seconds: ColumnType<number, number | undefined, number>;
  lookback_seconds: ColumnType<number, number | undefined, number>;
  delay_seconds: ColumnType<number, number | undefined, number>;
  watermark: Date | null;
  enabled: ColumnType<boolean, boolean | undefined, boolean>;
  created_at: CreatedAt;
}

export type RunStatus = 'running' | 'succeeded' | 'failed';

export interface IngestionRunsTable {
  id: Id;
  source_id: number | null;
  kind: string;
  file_name: string | null;
  file_sha256: string | null;
  window_from: Date | null;
  window_to: Date | null;
  status: ColumnType<RunStatus, RunStatus | undefined, RunStatus>;
  rows_read: ColumnType<number, number | undefined, number>;
  rows_stored: ColumnType<number, number | undefined, number>;
  rows_rejected: ColumnType<number, number | undefined, number>;
  customers_created: ColumnType<string[], string[] | undefined, string[]>;
  error: string | null;
  started_at: CreatedAt;
  finished_at: Date | null;
}

export interface RejectedRowsTable {
  id: Id;
  run_id: number;
  line_number: number;
  field: string | null;
  reason: string;
  raw: string;
}

export interface RecommendationsTable {
  id: Id;
  customer_id: number | null;
  pool_id: number | null;
  gpu_type_id: number;
  overflow: 'on_demand' | 'api';
  window_from: Timestamp;
  window_to: Timestamp;
  price_book_id: number | null;
  gpus: number;
  cost_usd: number;
  result: unknown;
  computed_at: CreatedAt;
  stale: ColumnType<boolean, boolean | undefined, boolean>;
}

export type Role = 'admin' | 'viewer';

export interface UsersTable {
  id: Id;
  email: string;
  role: Role;
  password_hash: string;
  created_at: CreatedAt;
}

export interface SessionsTable {
  id_sha256: string;
  user_id: number;
  created_at: CreatedAt;
  expires_at: Timestamp;
}

export interface LoginAttemptsTable {
  id: Id;
  email: string;
  address: string;
  succeeded: boolean;
  at: CreatedAt;
}

export interface AuditLogTable {
  id: Id;
  at: CreatedAt;
  user_id: number | null;
  actor: string;
  action: 'create' | 'update' | 'delete';
  entity: string;
  entity_id: string | null;
  before: unknown;
  after: unknown;
}

export interface EmailRecipientsTable {
  id: Id;
  email: string;
  kind: 'digest' | 'customer';
  customer_id: number | null;
  time_zone: ColumnType<string, string | undefined, string>;
  unsubscribed: ColumnType<boolean, boolean | undefined, boolean>;
  /** 'owner': stands for the customer's owner_email, and applies only while that address is the owner. */
  origin: ColumnType<'manual' | 'owner', 'manual' | 'owner' | undefined, 'manual' | 'owner'>;
  created_at: CreatedAt;
}

export interface EmailLogTable {
  id: Id;
  recipient_id: number;
  iso_week: string;
  status: 'pending' | 'sending' | 'sent' | 'failed' | 'uncertain';
  subject: string | null;
  attempts: ColumnType<number, number | undefined, number>;
  last_error: string | null;
  message_id: string | null;
  created_at: CreatedAt;
  sent_at: Date | null;
  claimed_at: Date | null;
  next_attempt_at: Date | null;
  delivery: string | null;
  resolved_by: string | null;
  resolved_at: Date | null;
}

export interface Database {
  pools: PoolsTable;
  customers: CustomersTable;
  gpu_types: GpuTypesTable;
  gpu_type_aliases: GpuTypeAliasesTable;
  gpu_assignments: GpuAssignmentsTable;
  gpu_samples: GpuSamplesTable;
  token_usage: TokenUsageTable;
  hourly_gpu_usage: HourlyGpuUsageTable;
  hourly_token_usage: HourlyTokenUsageTable;
  price_books: PriceBooksTable;
  offers: OffersTable;
  capacity_profiles: CapacityProfilesTable;
  reservations: ReservationsTable;
  ingestion_sources: IngestionSourcesTable;
  ingestion_runs: IngestionRunsTable;
  rejected_rows: RejectedRowsTable;
  recommendations: RecommendationsTable;
  users: UsersTable;
  sessions: SessionsTable;
  login_attempts: LoginAttemptsTable;
  audit_log: AuditLogTable;
  email_recipients: EmailRecipientsTable;
  email_log: EmailLogTable;
}

export type Customer = Selectable<CustomersTable>;
export type NewCustomer = Insertable<CustomersTable>;
export type CustomerUpdate = Updateable<CustomersTable>;
export type Pool = Selectable<PoolsTable>;
export type GpuType = Selectable<GpuTypesTable>;
export type User = Selectable<UsersTable>;
export type Offer = Selectable<OffersTable>;
export type Reservation = Selectable<ReservationsTable>;
export type NewReservation = Insertable<ReservationsTable>;
export type IngestionRun = Selectable<IngestionRunsTable>;
