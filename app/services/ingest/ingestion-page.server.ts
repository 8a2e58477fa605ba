// What /ingestion shows and does: recent runs, the quarantine of one run, an upload that runs the same import
// as `breakeven ingest file`, and the quarantine as CSV.
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  MaxPartSizeExceededError,
  NodeOnDiskFile,
  unstable_composeUploadHandlers,
  unstable_createFileUploadHandler,
  unstable_createMemoryUploadHandler,
  unstable_parseMultipartFormData,
} from '@remix-run/node';
import { z } from 'zod';
import { findRun, listRecentRuns, listRejectedRows } from '../../../db/queries/ingestion.js';
import { db } from '../../lib/db.server';
import { InputProblems } from '../customer-import.server.js';
import { FILE_KINDS, importFile, type FileImportSummary } from './file-import.server.js';

export async function loadIngestionPage(requestedRun: number | null) {
  const runs = await listRecentRuns(db(), 50);
  const selected = requestedRun ?? runs.find((r) => r.rowsRejected > 0)?.id ?? null;
  const rejected = selected === null ? [] : await listRejectedRows(db(), selected, 500);
  return {
    runs: runs.map((r) => ({
      id: r.id,
      kind: r.kind,
      what: r.fileName ?? r.sourceName ?? '—',
      status: r.status,
      read: r.rowsRead,
      stored: r.rowsStored,
      rejected: r.rowsRejected,
      customersCreated: r.customersCreated,
      error: r.error,
      startedAt: r.startedAt.toISOString(),
    })),
    selectedRun: selected,
    rejected,
  };
}

export type UploadOutcome = { ok: true; summary: FileImportSummary } | { ok: false; status: number; problems: string[] };

const optional = z.preprocess((v) => (typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined), z.string().max(200).optional());

const UploadForm = z.object({
  intent: z.literal('upload', { errorMap: () => ({ message: 'Unknown action.' }) }),
  kind: z.enum(FILE_KINDS, { errorMap: () => ({ message: `Choose what the file holds: ${FILE_KINDS.join(', ')}.` }) }),
  customer: optional,
  tz: optional,
  gpuUuid: optional,
  gpuType: optional,
});

/** Largest upload: the import streams, so this only bounds the temporary file. */
const MAX_UPLOAD_BYTES = 2 * 1024 ** 3;

/**
 * The upload form's post (the caller has checked the user is an admin): the file goes to a temporary file,
 * is imported as `breakeven ingest file` would, and the temporary file is removed. Refusals come back as problems.
 */
export async function importUpload(request: Request): Promise<UploadOutcome> {
  if (!(request.headers.get('content-type') ?? '').startsWith('multipart/form-data')) {
    return { ok: false, status: 400, problems: ['Upload the file with the form (multipart/form-data).'] };
  }
  let form: FormData;
  // The browser's name of the file: the one on disk is ours.
  let uploadedName = 'upload.csv';
  const directory = path.join(tmpdir(), 'breakeven-uploads');
  // Every temporary file handed out, so that an upload cut off mid-body leaves none behind.
  const written: string[] = [];
  try {
    form = await unstable_parseMultipartFormData(
      request,
      unstable_composeUploadHandlers(
        unstable_createFileUploadHandler({
          directory,
          maxPartSize: MAX_UPLOAD_BYTES,
          file: ({ filename }) => {
            if (filename) uploadedName = path.basename(filename.replaceAll('\\', '/'));
            const name = `upload-${randomBytes(12).toString('hex')}`;
            written.push(path.join(directory, name));
            return name;
          },
          filter: ({ name }) => name === 'file',
        }),
        unstable_createMemoryUploadHandler({ maxPartSize: 10_000 }),
      ),
    );
  } catch (error) {
    await Promise.all(written.map((f) => rm(f, { force: true })));
    if (error instanceof MaxPartSizeExceededError) return { ok: false, status: 413, problems: ['The upload is too large (at most 2 GB, fields 10 kB).'] };
    throw error;
  }
  const file = form.get('file');
  try {
    const parsed = UploadForm.safeParse(Object.fromEntries([...form.entries()].filter(([k]) => k !== 'file')));
    if (!parsed.success) return { ok: false, status: 400, problems: [parsed.error.issues[0].message] };
    if (!(file instanceof NodeOnDiskFile)) return { ok: false, status: 400, problems: ['Choose a file to upload.'] };
    const f = parsed.data;
    const smi = f.kind === 'nvidia-smi';
    const summary = await importFile(db(), {
      kind: f.kind,
      path: file.getFilePath(),
      fileName: uploadedName.slice(0, 200),
      customer: f.customer,
      tz: smi ? f.tz : undefined,
      gpuUuid: smi ? f.gpuUuid : undefined,
      gpuType: smi ? f.gpuType : undefined,
    });
    return { ok: true, summary };
  } catch (error) {
    if (error instanceof InputProblems) return { ok: false, status: 422, problems: error.problems };
    throw error;
  } finally {
    if (file instanceof NodeOnDiskFile) await rm(file.getFilePath(), { force: true });
  }
}

export async function runExists(runId: number): Promise<boolean> {
  return (await findRun(db(), runId)) !== undefined;
}
