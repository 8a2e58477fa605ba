import type { ActionFunctionArgs } from '@remix-run/node';
import { redirect } from '@remix-run/node';
import { destroySession } from '~/services/auth.server';

// Signing out is a POST (the button in the header); a GET only leads back.
export async function loader() {
  return redirect('/login');
}

export async function action({ request }: ActionFunctionArgs) {
  return redirect('/login', { headers: { 'Set-Cookie': await destroySession(request) } });
}
