import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from '@remix-run/node';
import { json } from '@remix-run/node';
import { Form, useActionData, useLoaderData } from '@remix-run/react';
import { z } from 'zod';
import { Shell } from '~/components/Shell';
import { formatDay } from '~/lib/format';
import { requireAdmin } from '~/services/auth.server';
import { MIN_PASSWORD_LENGTH } from '~/domain/accounts';
import { deleteUser, loadUsers, saveUser } from '~/services/users.server';

export const meta: MetaFunction = () => [{ title: 'Users · Breakeven' }];

export async function loader({ request, context }: LoaderFunctionArgs) {
  await requireAdmin(request, context);
  return { users: await loadUsers() };
}

const UserForm = z.discriminatedUnion('intent', [
  z.object({
    intent: z.literal('save'),
    email: z.string().trim().toLowerCase().email('Enter a valid email.'),
    role: z.enum(['admin', 'viewer'], { errorMap: () => ({ message: 'Choose admin or viewer.' }) }),
    password: z.string().min(MIN_PASSWORD_LENGTH, `The password must be at least ${MIN_PASSWORD_LENGTH} characters.`).max(1024),
  }),
  z.object({ intent: z.literal('remove'), email: z.string().trim().toLowerCase().email() }),
]);

export async function action({ request }: ActionFunctionArgs) {
  const admin = await requireAdmin(request);
  const parsed = UserForm.safeParse(Object.fromEntries(await request.formData()));
  if (!parsed.success) return json({ ok: false, message: parsed.error.issues[0].message }, { status: 400 });
  const form = parsed.data;
  if (form.intent === 'remove') {
    if (form.email === admin.email) return json({ ok: false, message: 'You cannot remove yourself.' }, { status: 400 });
    const removed = await deleteUser(admin, form.email);
    return json({ ok: removed, message: removed ? `Removed ${form.email}; their sessions have ended.` : `No user ${form.email}.` }, { status: removed ? 200 : 404 });
  }
  const outcome = await saveUser(admin, form.email, form.role, form.password);
  return json({ ok: true, message: `${form.email} ${outcome} as ${form.role}.` });
}

export default function Users() {
  const { users } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  return (
    <Shell title="Users">
      {result ? <p className={`alert ${result.ok ? 'ok' : 'error'}`} role="status">{result.message}</p> : null}
      <section className="card">
        <h2>People who can sign in</h2>
        <table>
          <thead>
            <tr><th scope="col">Email</th><th scope="col">Role</th><th scope="col">Since</th><th scope="col"><span className="visually-hidden">Actions</span></th></tr>
          </thead>
          <tbody>
            {users.map((u) => (
              <tr key={u.email}>
                <td>{u.email}</td>
                <td>{u.role}</td>
                <td>{formatDay(u.createdAt)}</td>
                <td>
                  <Form method="post">
                    <input type="hidden" name="intent" value="remove" />
                    <input type="hidden" name="email" value={u.email} />
                    <button type="submit" className="secondary">Remove</button>
                  </Form>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
      <section className="card">
        <h2>Add a user or change one</h2>
        <p>A viewer reads every page and downloads exports; an admin also changes prices, reservations, sources, recipients and users.</p>
        <Form method="post" className="stack narrow">
          <input type="hidden" name="intent" value="save" />
          <label>Email<input name="email" type="email" required /></label>
          <label>
            Role
            <select name="role" defaultValue="viewer">
              <option value="viewer">viewer</option>
              <option value="admin">admin</option>
            </select>
          </label>
          <label>Password<input name="password" type="password" minLength={MIN_PASSWORD_LENGTH} autoComplete="new-password" required /></label>
          <button type="submit">Save user</button>
        </Form>
      </section>
    </Shell>
  );
}
