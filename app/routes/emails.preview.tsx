// One recipient's email of one week as a page of its own (the Preview card's "open alone"): the HTML exactly as
// sent, under a policy that lets it run nothing and load nothing.
import type { LoaderFunctionArgs } from '@remix-run/node';
import { db } from '~/lib/db.server';
import { requireUser } from '~/services/auth.server';
import { previewByKey } from '~/services/email/emails-page.server';

export async function loader({ request, context }: LoaderFunctionArgs) {
  await requireUser(request, context);
  const params = new URL(request.url).searchParams;
  const result = await previewByKey(db(), params.get('recipient'), params.get('week'));
  if (!result.ok) return new Response(`${result.message}\n`, { status: result.status, headers: { 'Content-Type': 'text/plain; charset=utf-8' } });
  return new Response(result.email.html, {
    headers: {
      'Content-Type': 'text/html; charset=utf-8',
      'Content-Security-Policy': "sandbox allow-popups allow-popups-to-escape-sandbox; default-src 'none'; style-src 'unsafe-inline'",
      'Cache-Control': 'private, no-store',
    },
  });
}
