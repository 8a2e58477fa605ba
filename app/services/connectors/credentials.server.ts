// Source credentials at rest: AES-256-GCM under a key derived (HKDF-SHA256) from the session secret, so the
// database alone — a dump, a replica, a backup — does not reveal them. Stored as iv (12) ‖ tag (16) ‖
// ciphertext; the source's name is the additional authenticated data, so a blob copied onto another source
// does not decrypt. See docs/decisions/011-connectors.md.
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import type { SourceCredentials } from './http.server.js';

const IV_BYTES = 12;
const TAG_BYTES = 16;

/** The 32-byte key: HKDF-SHA256(secret, salt "breakeven", info "ingestion-source-credentials/v1"). */
export function credentialKey(secret: string): Buffer {
  if (secret.length < 32) throw new Error('the session secret is too short to derive a credential key');
  return Buffer.from(hkdfSync('sha256', Buffer.from(secret, 'utf8'), Buffer.from('breakeven', 'utf8'), Buffer.from('ingestion-source-credentials/v1', 'utf8'), 32));
}

export function encryptCredentials(credentials: SourceCredentials, secret: string, sourceName: string): Buffer {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', credentialKey(secret), iv);
  cipher.setAAD(Buffer.from(`ingestion_sources:${sourceName}`, 'utf8'));
  const ciphertext = Buffer.concat([cipher.update(JSON.stringify(credentials), 'utf8'), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), ciphertext]);
}

export class CredentialsError extends Error {}

export function decryptCredentials(blob: Buffer, secret: string, sourceName: string): SourceCredentials {
  if (blob.length < IV_BYTES + TAG_BYTES + 2) throw new CredentialsError(`the stored credentials of source ${sourceName} are damaged`);
  try {
    const decipher = createDecipheriv('aes-256-gcm', credentialKey(secret), blob.subarray(0, IV_BYTES));
    decipher.setAAD(Buffer.from(`ingestion_sources:${sourceName}`, 'utf8'));
    decipher.setAuthTag(blob.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    const text = Buffer.concat([decipher.update(blob.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
    return JSON.parse(text) as SourceCredentials;
  } catch {
    throw new CredentialsError(
      `the credentials of source ${sourceName} cannot be decrypted: SESSION_SECRET changed since they were stored; add them again (breakeven sources add ${sourceName} … --token-stdin)`,
    );
  }
}
