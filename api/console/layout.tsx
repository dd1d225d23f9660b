/**
 * The console's page shell and the few pieces every page uses: navigation, the outcome of the last
 * action (role="status" when done, role="alert" when refused or failed), and forms that carry the
 * session's form token. Server-rendered with hono/jsx; every page works without JavaScript.
 */
import type { Context } from 'hono';
import type { Child, FC, PropsWithChildren } from 'hono/jsx';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { Flash } from '../../db/console-sessions';
import { toIso } from '../../db/orders';
import type { ConsoleSessionRow } from '../../db/schema';
import { CONSOLE_PATH, FORM_TOKEN_FIELD } from './guard';

export const NAV = [
  { label: 'Overview', href: CONSOLE_PATH },
  { label: 'Orders', href: `${CONSOLE_PATH}/orders` },
  { label: 'Connections', href: `${CONSOLE_PATH}/connections` },
  { label: 'Merchants', href: `${CONSOLE_PATH}/merchants` },
] as const;

export type NavLabel = (typeof NAV)[number]['label'];

interface PageProps {
  title: string;
  session: ConsoleSessionRow | null;
  flash?: Flash | null;
  /** The navigation entry this page belongs to. */
  section?: NavLabel;
}

export const Page: FC<PropsWithChildren<PageProps>> = ({ title, session, flash, section, children }) => (
  <html lang="en">
    <head>
      <meta charset="utf-8" />
      <meta name="viewport" content="width=device-width, initial-scale=1" />
      <title>{`${title} · Ops console`}</title>
      <link rel="stylesheet" href={`${CONSOLE_PATH}/assets/console.css`} />
      <script src={`${CONSOLE_PATH}/assets/console.js`} defer></script>
    </head>
    <body>
      <header class="top">
        <span class="brand">ShipStation connector · ops</span>
        {session && (
          <>
            <nav aria-label="Console">
              {NAV.map((item) => (
                <a href={item.href} aria-current={item.label === section ? 'page' : undefined}>
                  {item.label}
                </a>
              ))}
            </nav>
            <PostForm action={`${CONSOLE_PATH}/sign-out`} session={session} class="sign-out">
              <span class="who">{session.name ? `Signed in as ${session.name}` : 'Signed in'}</span>
              <button type="submit">Sign out</button>
            </PostForm>
          </>
        )}
      </header>
      <main>
        <h1>{title}</h1>
        {flash && (
          <p role={flash.kind} class={`flash ${flash.kind}`}>
            {flash.text}
          </p>
        )}
        {children}
      </main>
    </body>
  </html>
);

/** A form that changes something: POST, with the session's form token. */
export const PostForm: FC<PropsWithChildren<{ action: string; session: ConsoleSessionRow; class?: string; label?: string }>> = (props) => (
  <form method="post" action={props.action} class={props.class} aria-label={props.label}>
    <input type="hidden" name={FORM_TOKEN_FIELD} value={props.session.formToken} />
    {props.children}
  </form>
);

/** A labelled input; `label` is its accessible name. */
export const Field: FC<{ label: string; name: string; value?: string | null; type?: string; required?: boolean; placeholder?: string; maxLength?: number }> = (p) => (
  <label class="field">
    <span>{p.label}</span>
    <input
      type={p.type ?? 'text'}
      name={p.name}
      value={p.value ?? ''}
      required={p.required}
      placeholder={p.placeholder}
      maxlength={p.maxLength}
    />
  </label>
);

export const Select: FC<{ label: string; name: string; value?: string | null; options: readonly (string | { value: string; label: string })[]; any?: string }> = (p) => (
  <label class="field">
    <span>{p.label}</span>
    <select name={p.name}>
      {p.any !== undefined && <option value="">{p.any}</option>}
      {p.options.map((o) => {
        const { value, label } = typeof o === 'string' ? { value: o, label: o } : o;
        return (
          <option value={value} selected={value === p.value}>
            {label}
          </option>
        );
      })}
    </select>
  </label>
);

/** A value to paste elsewhere (ShipStation, a merchant's settings), with a copy button when script runs. */
export const Copyable: FC<{ label: string; value: string; id: string }> = ({ label, value, id }) => (
  <div class="copyable">
    <span class="copy-label" id={`${id}-label`}>
      {label}
    </span>
    <code id={id} aria-labelledby={`${id}-label`}>
      {value}
    </code>
    <button type="button" class="copy" data-copy={id} hidden aria-label={`Copy ${label}`}>
      Copy
    </button>
  </div>
);

/** A time (as the database or a workflow gives it) as ISO for machines (title) and a short UTC form for people. */
export const When: FC<{ at: string | null | undefined; none?: string }> = ({ at, none }) => {
  if (!at) return <span class="muted">{none ?? 'never'}</span>;
  const iso = toIso(at);
  return <time datetime={iso} title={iso}>{`${iso.slice(0, 16).replace('T', ' ')} UTC`}</time>;
};

/** How long ago, in words, for "stuck for" and "last polled". */
export function ago(at: string, now = Date.now()): string {
  const minutes = Math.max(0, Math.round((now - Date.parse(at)) / 60_000));
  if (minutes < 1) return 'just now';
  if (minutes < 90) return `${minutes} min ago`;
  const hours = Math.round(minutes / 60);
  if (hours < 48) return `${hours} h ago`;
  return `${Math.round(hours / 24)} days ago`;
}

export const Empty: FC<PropsWithChildren> = ({ children }) => <p class="empty">{children}</p>;

/** A full HTML page as the answer. */
export async function render(c: Context, page: Child, status: ContentfulStatusCode = 200): Promise<Response> {
  // A JSX node renders by toString(), which is a promise when a component is async.
  const html = await (page as { toString(): string | Promise<string> }).toString();
  return c.html(`<!doctype html>${html}`, status);
}
