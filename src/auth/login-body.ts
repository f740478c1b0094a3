/** The username a login body named as a string, else null; the body is untrusted JSON of any shape, or none. */
export function usernameIn(body: unknown): string | null {
  const username = typeof body === 'object' && body !== null ? (body as { username?: unknown }).username : undefined;
  return typeof username === 'string' ? username : null;
}
