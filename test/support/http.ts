/** Small helpers over the real fetch client. */

/**
 * A parsed JSON body or WebSocket frame of whatever shape the server sent. Tests read into it freely
 * and check the shape with expect(), hence `any` (and the no-unsafe-* rules are off under test/).
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see above
export type Json = any;

export interface Reply<T = Json> {
  status: number;
  headers: Headers;
  body: T;
}

export async function call<T = Json>(
  baseUrl: string,
  method: string,
  path: string,
  options: { body?: unknown; headers?: Record<string, string>; raw?: string } = {},
): Promise<Reply<T>> {
  const headers: Record<string, string> = { ...(options.headers ?? {}) };
  let body: string | undefined = options.raw;
  if (options.body !== undefined) {
    headers['content-type'] ??= 'application/json';
    body = JSON.stringify(options.body);
  }
  const send = () => fetch(`${baseUrl}${path}`, { method, headers, body, redirect: 'manual' });
  let response: Response;
  try {
    response = await send();
  } catch (error) {
    // A kept-alive connection the server closed as the next request went out on it (it happens
    // when a loaded machine stalls both ends past the keep-alive timeout): a GET or HEAD is sent
    // again once, on a new connection, as browsers do. Anything else is the test's to see.
    const code = (error as { cause?: { code?: string } }).cause?.code;
    if ((method !== 'GET' && method !== 'HEAD') || (code !== 'ECONNRESET' && code !== 'UND_ERR_SOCKET')) throw error;
    response = await send();
  }
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON: keep the text
  }
  return { status: response.status, headers: response.headers, body: parsed as T };
}

export async function login(baseUrl: string, username: string, password: string): Promise<string> {
  const reply = await call(baseUrl, 'POST', '/api/v1/auth/token', { body: { username, password } });
  if (reply.status !== 200) throw new Error(`login as ${username} failed: ${reply.status} ${JSON.stringify(reply.body)}`);
  return reply.body.access_token as string;
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
export const apiKey = (key: string) => ({ 'x-api-key': key });
export const cookie = (token: string) => ({ cookie: `access_token=${token}` });

export async function createUser(baseUrl: string, adminToken: string, username: string, role: string, password = 'user-password-123') {
  const reply = await call(baseUrl, 'POST', '/api/v1/users', { headers: bearer(adminToken), body: { username, password, role } });
  if (reply.status !== 201) throw new Error(`creating ${username} failed: ${reply.status} ${JSON.stringify(reply.body)}`);
  return { ...reply.body, password } as { id: string; username: string; role: string; password: string };
}

export async function waitFor(check: () => Promise<boolean> | boolean, timeoutMs = 5000, intervalMs = 25): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  return false;
}
