// POST /ingestion/sources: the Sources section's forms (admins only). Answers with a redirect back to
// /ingestion carrying a message; never echoes credentials.
import type { ActionFunctionArgs } from '@remix-run/node';
import { redirect } from '@remix-run/node';
import { z } from 'zod';
import { db } from '~/lib/db.server';
import { runtime } from '~/lib/runtime.server';
import { requireAdmin } from '~/services/auth.server';
import { createSource, deleteSource, parseSourceForm, requestSourcePull } from '~/services/sources.server';

const Intent = z.object({ intent: z.enum(['source-save', 'source-remove', 'source-run']), name: z.string().trim().min(1).max(100) });

function back(message: string, ok: boolean) {
  return redirect(`/ingestion?${new URLSearchParams({ sources: message, sources_ok: ok ? '1' : '0' })}#sources`);
}

export async function action({ request }: ActionFunctionArgs) {
  const admin = await requireAdmin(request);
  const fields = Object.fromEntries(await request.formData());
  const parsed = Intent.safeParse(fields);
  if (!parsed.success) return back('Unknown request.', false);
  const actor = { userId: admin.id, actor: admin.email };
  const { intent, name } = parsed.data;
  if (intent === 'source-remove') {
    const removed = await deleteSource(db(), actor, name);
    return back(removed ? `Source ${name} removed; what it brought stays.` : `No source ${name}.`, removed);
  }
  if (intent === 'source-run') {
    const { found, queued } = await requestSourcePull(db(), name);
    if (!found) return back(`No source ${name}.`, false);
    return back(
      queued ? `A pull of ${name} is queued; the worker runs it within seconds.` : `No worker has run against this database yet: start the server (npm start) or run breakeven ingest run --source ${name}.`,
      queued,
    );
  }
  const form = parseSourceForm(fields);
  if (!form.ok) return back(form.message, false);
  const { created, source } = await createSource(db(), actor, form.input, form.credentials, runtime().sessionSecret);
  return back(`Source ${source.name} ${created ? 'added' : 'updated'} (credentials: ${source.credentials}).`, true);
}
