import { randomInt, randomUUID } from 'node:crypto';
import { call, Reply } from './http';
import type { TestApp } from './test-app';

/** A client address no other test (or earlier run sharing the same Redis) has used. */
export const freshIp = () => `10.${randomInt(256)}.${randomInt(256)}.${randomInt(1, 255)}`;
export const freshUsername = (name: string) => `${name}-${randomUUID()}@test.local`;

export function attempt(t: TestApp, username: string, password: string, headers: Record<string, string> = {}): Promise<Reply> {
  return call(t.baseUrl, 'POST', '/api/v1/auth/token', { body: { username, password }, headers });
}

export function expectTooManyRequests(reply: Reply, maxRetryAfter: number): void {
  expect(reply.status).toBe(429);
  expect(reply.body).toMatchObject({ statusCode: 429, error: 'Too Many Requests' });
  const retryAfter = reply.headers.get('retry-after');
  expect(retryAfter).toMatch(/^\d+$/);
  expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
  expect(Number(retryAfter)).toBeLessThanOrEqual(maxRetryAfter);
  expect(reply.headers.getSetCookie()).toEqual([]);
  expect(reply.body.access_token).toBeUndefined();
}
