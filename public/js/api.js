// The one place that talks to the REST API. The browser sends the httpOnly access_token cookie
// (same origin) and, for POST/PATCH/DELETE, its Origin header, which the server checks.

export const API = '/api/v1';

export class ApiError extends Error {
  constructor(status, body, headers) {
    super(errorText(status, body));
    this.status = status;
    this.body = body;
    this.headers = headers;
  }
}

function errorText(status, body) {
  const text = body && typeof body === 'object' ? body.message : undefined;
  const detail = Array.isArray(text) ? text.join('; ') : text;
  if (status === 0) return 'The server could not be reached.';
  if (status === 403) return detail ? `Not allowed: ${detail}` : 'Not allowed.';
  if (status === 413) return 'The request is too large.';
  if (status >= 500) return `The server failed (${status}). Try again.`;
  return detail ? String(detail) : `Request failed (${status}).`;
}

let onUnauthenticated = () => {};
let onStepUpRequired = null;

/**
 * Called when a sensitive action answers 403 step_up_required: resolves true once the person has
 * verified a second factor, and the action is then sent once more.
 */
export function setStepUpHandler(handler) {
  onStepUpRequired = handler;
}

/** Called when any call (other than sign-in) answers 401: the session is gone. */
export function setUnauthenticatedHandler(handler) {
  onUnauthenticated = handler;
}

export async function api(method, path, body, { allow401 = false, retried = false } = {}) {
  const init = { method, credentials: 'same-origin', headers: { accept: 'application/json' }, cache: 'no-store' };
  if (body !== undefined) {
    init.headers['content-type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(`${API}${path}`, init);
  } catch {
    throw new ApiError(0, undefined, new Headers());
  }
  const text = await response.text();
  let parsed;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = text;
  }
  if (response.ok) return parsed;
  if (response.status === 403 && parsed?.error === 'step_up_required' && onStepUpRequired && !retried) {
    if (await onStepUpRequired()) return api(method, path, body, { allow401, retried: true });
  }
  const error = new ApiError(response.status, parsed, response.headers);
  if (response.status === 401 && !allow401) onUnauthenticated('Your session has ended. Please sign in again.');
  throw error;
}

export const get = (path, options) => api('GET', path, undefined, options);
export const post = (path, body, options) => api('POST', path, body ?? {}, options);
export const patch = (path, body) => api('PATCH', path, body);
export const del = (path) => api('DELETE', path);

export function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value !== undefined && value !== null && value !== '') search.set(key, String(value));
  const text = search.toString();
  return text ? `?${text}` : '';
}
