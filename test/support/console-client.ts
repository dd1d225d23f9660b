/** A signed-in console session over app.request: cookies, the form token, and reading what a page says. */
import type { TestStack } from './stack';

export const CONSOLE_ORIGIN = 'http://connector.test';

export interface ConsoleClient {
  cookie: string;
  get(path: string): Promise<{ status: number; location: string | null; html: string }>;
  /** Posts a form with the session's form token (unless `formToken` says otherwise), from the console's origin. */
  post(path: string, fields?: Record<string, string>, options?: { origin?: string | null; formToken?: string | null }): Promise<{ status: number; location: string | null; html: string }>;
  /** Follows a post's redirect and answers the page's outcome message. */
  outcome(response: { location: string | null }): Promise<{ kind: 'status' | 'alert' | null; text: string; html: string }>;
}

/** The text of the first element with `role` (status or alert), tags stripped. */
export function roleText(html: string, role: 'status' | 'alert'): string | null {
  const match = new RegExp(`<[a-z]+[^>]*role="${role}"[^>]*>([\\s\\S]*?)</[a-z]+>`).exec(html);
  return match ? decode(match[1]!.replace(/<[^>]+>/g, '')).trim() : null;
}

const decode = (text: string) => text.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');

/** Page text with tags stripped and whitespace collapsed, for "does the page say X". */
export const pageText = (html: string) => decode(html.replace(/<[^>]+>/g, ' ')).replace(/\s+/g, ' ');

export async function signIn(app: ReturnType<TestStack['app']>, token: string, name = 'Ana'): Promise<ConsoleClient> {
  const res = await app.request('/ops/sign-in', { method: 'POST', body: new URLSearchParams({ token, name }), headers: { Origin: CONSOLE_ORIGIN } });
  if (res.status !== 303) throw new Error(`sign-in answered ${res.status}`);
  const cookie = res.headers.get('set-cookie')!.split(';')[0]!;
  let formToken: string | null = null;
  const read = async (res: Response) => ({ status: res.status, location: res.headers.get('location'), html: await res.text() });
  const client: ConsoleClient = {
    cookie,
    get: async (path) => read(await app.request(path, { headers: { cookie } })),
    async post(path, fields = {}, options = {}) {
      formToken ??= /name="_form" value="([^"]+)"/.exec((await client.get('/ops')).html)![1]!;
      const token = options.formToken === undefined ? formToken : options.formToken;
      const origin = options.origin === undefined ? CONSOLE_ORIGIN : options.origin;
      const body = new URLSearchParams({ ...fields, ...(token !== null ? { _form: token } : {}) });
      return read(await app.request(path, { method: 'POST', body, headers: { cookie, ...(origin !== null ? { Origin: origin } : {}) } }));
    },
    async outcome(response) {
      if (!response.location) throw new Error('the post did not redirect');
      const { html } = await client.get(response.location);
      const status = roleText(html, 'status');
      const alert = roleText(html, 'alert');
      return { kind: status !== null ? 'status' : alert !== null ? 'alert' : null, text: status ?? alert ?? '', html };
    },
  };
  return client;
}
