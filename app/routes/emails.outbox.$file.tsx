// An .eml file of the outbox (where emails go when SMTP_URL is unset), as a download.
import type { LoaderFunctionArgs } from '@remix-run/node';
import { requireUser } from '~/services/auth.server';
import { readOutboxFile } from '~/services/email/emails-page.server';

export async function loader({ request, params, context }: LoaderFunctionArgs) {
  await requireUser(request, context);
  const name = params.file ?? '';
  const bytes = await readOutboxFile(name);
  if (!bytes) return new Response('No such file in the outbox.\n', { status: 404, headers: { 'Content-Type': 'text/plain; charset=utf-8' } });
  return new Response(new Uint8Array(bytes), {
    headers: {
      'Content-Type': 'message/rfc822',
      'Content-Disposition': `attachment; filename="${name}"`,
      'Cache-Control': 'private, no-store',
    },
  });
}
