import { BadRequestException, Controller, Get, Header, HttpCode, NotFoundException, Post, Req, Res } from '@nestjs/common';
import { ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { CookieOptions, Request, Response } from 'express';
import { Public } from '../access/access.decorators';
import { AuthCookie } from '../auth/auth-cookie';
import { Authenticator, httpCarrier } from '../auth/authenticator';
import { clientInfo } from '../common/client-info';
import { MAX_BODY_BYTES } from '../common/body-limits';
import { AppConfig } from '../config/app-config';
import { OIDC_FLOW_COOKIE, OIDC_FLOW_TTL_MS } from './oidc-flow-cookie';
import { OidcService, SsoFailure } from './oidc.service';

const FLOW_COOKIE_PATH = '/api/v1/auth/oidc';
export const OIDC_LOGIN_URL = '/api/v1/auth/oidc/login';

export interface ProvidersView {
  password: true;
  passkey: true;
  oidc: { login_url: string } | null;
}

/** Single sign-on routes (README "Single sign-on"); thin: the decisions are OidcService's. */
@ApiTags('auth')
@Controller('auth')
export class OidcController {
  private readonly flowCookie: CookieOptions;

  constructor(
    private readonly config: AppConfig,
    private readonly oidc: OidcService,
    private readonly authCookie: AuthCookie,
    private readonly authenticator: Authenticator,
  ) {
    // Lax, not Strict: the provider's redirect back is a cross-site navigation, which must carry it.
    this.flowCookie = { httpOnly: true, sameSite: 'lax', secure: config.cookieSecure, path: FLOW_COOKIE_PATH };
  }

  @Get('providers')
  @Public()
  @ApiResponse({ status: 200, description: '{ password: true, passkey: true, oidc: null | { login_url } }' })
  providers(): ProvidersView {
    return { password: true, passkey: true, oidc: this.config.oidc ? { login_url: OIDC_LOGIN_URL } : null };
  }

  @Get('oidc/login')
  @Public()
  @Header('Cache-Control', 'no-store')
  @ApiQuery({ name: 'return_to', required: false, description: 'a path on this site to go back to (anything else is ignored)' })
  @ApiQuery({
    name: 'step_up',
    required: false,
    description: '1: re-authenticate the signed-in user at the provider (prompt=login, max_age=0) and mark the session',
  })
  @ApiResponse({ status: 302, description: 'to the identity provider; or to /?sso_error=<reason>' })
  async login(@Req() req: Request, @Res() res: Response): Promise<void> {
    this.requireEnabled();
    try {
      const stepUp = req.query.step_up === '1' ? await this.stepUpOf(req) : undefined;
      const started = await this.oidc.start(req.query.return_to, clientInfo(req), stepUp);
      res.cookie(OIDC_FLOW_COOKIE, started.cookie, { ...this.flowCookie, maxAge: OIDC_FLOW_TTL_MS });
      res.redirect(302, started.redirectTo);
    } catch (error) {
      this.failTo(res, error);
    }
  }

  @Get('oidc/callback')
  @Public()
  @Header('Cache-Control', 'no-store')
  @ApiResponse({ status: 302, description: 'signed in (cookie) to return_to; or to /?sso_error=<reason>' })
  async callback(@Req() req: Request, @Res() res: Response): Promise<void> {
    this.requireEnabled();
    const cookies: unknown = req.cookies;
    const flow = this.oidc.flows.open(cookies && typeof cookies === 'object' ? (cookies as Record<string, unknown>)[OIDC_FLOW_COOKIE] : undefined);
    // Single use: whatever happens, the flow is over.
    res.clearCookie(OIDC_FLOW_COOKIE, this.flowCookie);
    try {
      const { token, returnTo } = await this.oidc.finish(flow, req.query, clientInfo(req));
      // A step-up keeps the session it marked: no new token.
      if (token) this.authCookie.set(res, token.access_token, token.expires_in);
      res.redirect(302, returnTo);
    } catch (error) {
      this.failTo(res, error);
    }
  }

  @Post('oidc/backchannel-logout')
  @Public()
  @HttpCode(200)
  @Header('Cache-Control', 'no-store')
  @ApiResponse({ status: 200, description: 'the sessions named by the form-encoded logout_token are ended on every instance' })
  @ApiResponse({ status: 400, description: 'invalid logout_token' })
  async backchannelLogout(@Req() req: Request): Promise<void> {
    this.requireEnabled();
    const form = await readForm(req);
    const ended = await this.oidc.backchannelLogout(form?.get('logout_token') ?? undefined, clientInfo(req));
    if (!ended) throw new BadRequestException('invalid logout_token');
  }

  /** The caller's session for a step-up: a signed-in person (cookie or bearer), else a refusal. */
  private async stepUpOf(req: Request): Promise<{ sessionId: string; userId: string }> {
    const decision = await this.authenticator.authenticate(httpCarrier(req), { permissions: [], openDuringEnrolment: true });
    const principal = decision.ok ? decision.principal : null;
    if (!principal || principal.kind !== 'user' || !principal.sessionId || !principal.userId) {
      throw this.oidc.failed('not_signed_in', null, clientInfo(req), 'mfa.step_up');
    }
    return { sessionId: principal.sessionId, userId: principal.userId };
  }

  private requireEnabled(): void {
    if (!this.config.oidc) throw new NotFoundException('single sign-on is not configured (OIDC_ISSUER)');
  }

  private failTo(res: Response, error: unknown): void {
    if (!(error instanceof SsoFailure)) throw error;
    res.redirect(302, `/?sso_error=${encodeURIComponent(error.reason)}`);
  }
}

/** The form body (application/x-www-form-urlencoded, at most 100 kB), or null for any other body. */
async function readForm(req: Request): Promise<URLSearchParams | null> {
  const type = req.headers['content-type']?.split(';')[0].trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded' || req.body !== undefined) return null;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) return null;
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}
