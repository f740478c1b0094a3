/** Where a sign-in goes back to when return_to is missing or refused. */
export const DEFAULT_RETURN_TO = '/';
const MAX_RETURN_TO = 2048;

/**
 * return_to as a path on this site, or the default: it must start with a single `/` (not `//`,
 * a scheme-relative URL to another host), hold no backslash (browsers read `/\host` as `//host`),
 * no control characters and no scheme. Anything else is ignored, never followed: no open redirect.
 */
export function safeReturnTo(raw: unknown): string {
  if (typeof raw !== 'string' || raw.length === 0 || raw.length > MAX_RETURN_TO) return DEFAULT_RETURN_TO;
  if (!raw.startsWith('/') || raw.startsWith('//')) return DEFAULT_RETURN_TO;
  if (raw.includes('\\') || hasControlCharacter(raw)) return DEFAULT_RETURN_TO;
  // Resolved against a placeholder origin it must stay on that origin (catches anything the rules above miss).
  try {
    const base = 'http://return-to.invalid';
    const resolved = new URL(raw, base);
    if (resolved.origin !== base) return DEFAULT_RETURN_TO;
    return `${resolved.pathname}${resolved.search}${resolved.hash}`;
  } catch {
    return DEFAULT_RETURN_TO;
  }
}

function hasControlCharacter(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}
