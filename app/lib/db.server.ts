// The database handle for loaders and actions (opened by the server entry; see db/client.ts).
export { getDb as db } from '../../db/client.js';
export type { Db } from '../../db/client.js';
