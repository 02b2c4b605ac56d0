export interface PageAnswer {
  status: number;
  headers: Headers;
  text: string;
  location: string | null;
}

/** A browser without a browser: keeps cookies, sends forms, follows nothing by itself. */
export class DashboardClient {
  readonly cookies = new Map<string, string>();
  /** Every Set-Cookie line received, for checking its attributes. */
  readonly setCookies: string[] = [];
  lastCsrf = '';

  constructor(readonly base: string) {}

  cookieHeader(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  async request(method: string, path: string, form?: Record<string, string>,
    headers: Record<string, string> = {}): Promise<PageAnswer> {
    const res = await fetch(`${this.base}${path}`, {
      method,
      redirect: 'manual',
      headers: {
        cookie: this.cookieHeader(),
        ...(form === undefined ? {} : { 'content-type': 'application/x-www-form-urlencoded' }),
        ...headers,
      },
      ...(form === undefined ? {} : { body: new URLSearchParams(form).toString() }),
    });
    for (const line of res.headers.getSetCookie()) {
      this.setCookies.push(line);
      const [pair = ''] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq);
      const value = pair.slice(eq + 1);
      if (/Max-Age=0/i.test(line)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    const text = await res.text();
    const csrf = /name="_csrf" value="([^"]+)"/.exec(text)?.[1];
    if (csrf !== undefined) this.lastCsrf = csrf;
    return { status: res.status, headers: res.headers, text, location: res.headers.get('location') };
  }

  get(path: string): Promise<PageAnswer> {
    return this.request('GET', path);
  }

  /** Posts a form with the CSRF token of the last page seen, unless the form names one. */
  post(path: string, form: Record<string, string> = {},
    headers: Record<string, string> = {}): Promise<PageAnswer> {
    return this.request('POST', path, { _csrf: this.lastCsrf, ...form }, headers);
  }

  async signIn(fields: Record<string, string>): Promise<PageAnswer> {
    const page = await this.get('/dashboard/login');
    const token = /name="_login" value="([^"]+)"/.exec(page.text)?.[1] ?? '';
    return this.request('POST', '/dashboard/login', { _login: token,
      next: '/dashboard/recordings', ...fields });
  }

  signInWithKey(apiKey: string): Promise<PageAnswer> {
    return this.signIn({ method: 'key', api_key: apiKey });
  }

  signInWithPassword(email: string, password: string): Promise<PageAnswer> {
    return this.signIn({ method: 'password', email, password });
  }
}
