import type { Response } from 'express';
import type { AppConfig } from '../config/app-config';
import { AuthCookie } from './auth-cookie';

function recordingResponse() {
  const calls: Array<[string, ...unknown[]]> = [];
  const res = {
    cookie: (...args: unknown[]) => calls.push(['cookie', ...args]),
    clearCookie: (...args: unknown[]) => calls.push(['clearCookie', ...args]),
  } as unknown as Response;
  return { res, calls };
}

describe('AuthCookie: the browser credential', () => {
  it('is access_token, httpOnly, SameSite=Strict, for the whole site, and lives as long as the token', () => {
    const { res, calls } = recordingResponse();
    new AuthCookie({ cookieSecure: false } as AppConfig).set(res, 'the-token', 3600);
    expect(calls).toEqual([['cookie', 'access_token', 'the-token', { httpOnly: true, sameSite: 'strict', path: '/', secure: false, maxAge: 3_600_000 }]]);
  });

  it('is Secure when COOKIE_SECURE says so', () => {
    const { res, calls } = recordingResponse();
    new AuthCookie({ cookieSecure: true } as AppConfig).set(res, 't', 60);
    expect(calls[0][3]).toMatchObject({ secure: true, maxAge: 60_000 });
  });

  it('is cleared with the same attributes it was set with, so that the browser drops it', () => {
    const { res, calls } = recordingResponse();
    new AuthCookie({ cookieSecure: true } as AppConfig).clear(res);
    expect(calls).toEqual([['clearCookie', 'access_token', { httpOnly: true, sameSite: 'strict', path: '/', secure: true }]]);
  });
});
