import { Injectable } from '@nestjs/common';
import type { CookieOptions, Response } from 'express';
import { AppConfig } from '../config/app-config';
import { AUTH_COOKIE } from './credential-resolver';

/** The httpOnly, SameSite=Strict cookie that carries a browser's token. */
@Injectable()
export class AuthCookie {
  private readonly options: CookieOptions;

  constructor(config: AppConfig) {
    this.options = { httpOnly: true, sameSite: 'strict', path: '/', secure: config.cookieSecure };
  }

  set(res: Response, token: string, expiresInSeconds: number): void {
    res.cookie(AUTH_COOKIE, token, { ...this.options, maxAge: expiresInSeconds * 1000 });
  }

  clear(res: Response): void {
    res.clearCookie(AUTH_COOKIE, this.options);
  }
}
