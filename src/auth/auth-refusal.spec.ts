import {
  AuthRefusal,
  CLOSED_BY_DEFAULT_MESSAGE,
  CREDENTIAL_STORE_DOWN_MESSAGE,
  CROSS_SITE_MESSAGE,
  INVALID_CREDENTIALS_MESSAGE,
  MISSING_CREDENTIALS_MESSAGE,
} from './auth-refusal';

describe('AuthRefusal: the same JSON error body on every transport', () => {
  it.each([
    [401, 'Unauthorized'],
    [403, 'Forbidden'],
    [429, 'Too Many Requests'],
    [503, 'Service Unavailable'],
  ] as const)('names status %i "%s" in the body Nest writes and in the handshake answer', (status, error) => {
    const refusal = new AuthRefusal(status, 'what was wrong');
    expect(refusal.statusCode).toBe(status);
    expect(refusal.getResponse()).toEqual({ statusCode: status, error, message: 'what was wrong' });
    expect(refusal.answer('req-1').body).toEqual({ statusCode: status, error, message: 'what was wrong', request_id: 'req-1' });
  });

  it('uses the error the contract names for a refusal instead of the status name', () => {
    const refusal = new AuthRefusal(403, 'this API key may not be used from this address', { error: 'ip_not_allowed' });
    expect(refusal.getResponse()).toMatchObject({ error: 'ip_not_allowed' });
    expect(refusal.answer('r').body.error).toBe('ip_not_allowed');
  });

  it('answers JSON with the request id, and asks for a Bearer token on 401 only', () => {
    expect(new AuthRefusal(401, 'x').answer('req-9').headers).toEqual({
      'Content-Type': 'application/json; charset=utf-8',
      'X-Request-Id': 'req-9',
      'WWW-Authenticate': 'Bearer',
    });
    for (const status of [403, 429, 503] as const) {
      expect(new AuthRefusal(status, 'x').answer('req-9').headers).toEqual({ 'Content-Type': 'application/json; charset=utf-8', 'X-Request-Id': 'req-9' });
    }
  });

  it('carries its own headers (Retry-After, RateLimit-*) into the answer, and keeps them its own', () => {
    const headers = { 'Retry-After': '30', 'RateLimit-Limit': '10' };
    const refusal = new AuthRefusal(429, 'used up', { headers });
    headers['Retry-After'] = '0';
    expect(refusal.responseHeaders).toEqual({ 'Retry-After': '30', 'RateLimit-Limit': '10' });
    expect(refusal.answer('r').headers).toMatchObject({ 'Retry-After': '30', 'RateLimit-Limit': '10', 'X-Request-Id': 'r' });
    expect(new AuthRefusal(401, 'x').responseHeaders).toEqual({});
  });

  it('says what was wrong and what to do, never why a secret did not match', () => {
    expect(MISSING_CREDENTIALS_MESSAGE).toMatch(/Bearer token.*X-API-Key.*access_token cookie/);
    expect(INVALID_CREDENTIALS_MESSAGE).toBe('invalid or expired credentials');
    expect(CREDENTIAL_STORE_DOWN_MESSAGE).toMatch(/retry/);
    expect(CROSS_SITE_MESSAGE).toMatch(/allowed origin/);
    expect(CLOSED_BY_DEFAULT_MESSAGE).toMatch(/closed by default/);
  });
});
