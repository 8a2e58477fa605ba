import type { Kysely } from 'kysely';
import { gpuTypeAlias, knownGpuType, normalizeGpuType } from '../../app/domain/gpu-types.js';
import type { Database, GpuType } from '../schema.js';

type Handle = Kysely<Database>;

/** The type a vendor name stands for: its recorded alias first (an alias can be pointed elsewhere by hand), then its normalised name. */
export async function findGpuTypeByName(db: Handle, name: string): Promise<GpuType | undefined> {
  const byAlias = await db
    .selectFrom('gpu_type_aliases')
    .innerJoin('gpu_types', 'gpu_types.id', 'gpu_type_aliases.gpu_type_id')
    .selectAll('gpu_types')
    .where('gpu_type_aliases.alias', '=', gpuTypeAlias(name))
    .executeTakeFirst();
  if (byAlias) return byAlias;
  const normalized = normalizeGpuType(name);
  if (normalized === '') return undefined;
  return db.selectFrom('gpu_types').selectAll().where('name', '=', normalized).executeTakeFirst();
}

/**
 * The id of the GPU type a vendor name stands for, creating the type (named by normalizeGpuType, with the
 * known memory and default target utilization) when missing, and recording the vendor name as an alias.
 */
export async function ensureGpuType(db: Handle, vendorName: string): Promise<number> {
  const alias = gpuTypeAlias(vendorName);
  const existing = await findGpuTypeByName(db, vendorName);
  let id = existing?.id;
  if (id === undefined) {
    const name = normalizeGpuType(vendorName);
    if (name === '') throw new RangeError(`"${vendorName}" does not name a GPU type`);
    const known = knownGpuType(name);
    // ON CONFLICT: another session may create the same type at the same moment.
    await db
      .insertInto('gpu_types')
      .values({ name, memory_gib: known?.memory_gib ?? null, target_utilization: known?.target_utilization })
      .onConflict((oc) => oc.column('name').doNothing())
      .execute();
    ({ id } = await db.selectFrom('gpu_types').select('id').where('name', '=', name).executeTakeFirstOrThrow());
  }
  if (alias !== '') {
    await db.insertInto('gpu_type_aliases').values({ alias, gpu_type_id: id }).onConflict((oc) => oc.column('alias').doNothing()).execute();
  }
  return id;
}

/** Every GPU type, by name. */
export async function listGpuTypes(db: Handle): Promise<GpuType[]> {
  return db.selectFrom('gpu_types').selectAll().orderBy('name').execute();
}

/** Sets what a price book says about a type; a field left undefined is kept. */
export async function updateGpuTypeSettings(
  db: Handle,
  id: number,
  settings: { target_utilization?: number | null; memory_gib?: number | null },
): Promise<void> {
  const values: { target_utilization?: number; memory_gib?: number } = {};
  if (settings.target_utilization != null) values.target_utilization = settings.target_utilization;
  if (settings.memory_gib != null) values.memory_gib = settings.memory_gib;
  if (Object.keys(values).length === 0) return;
  await db.updateTable('gpu_types').set(values).where('id', '=', id).execute();
}
