import { Injectable, Logger } from '@nestjs/common';
import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose';
import * as client from 'openid-client';
import { AppConfig } from '../config/app-config';
import type { OidcConfig } from '../config/oidc-config';

/** The provider could not be reached or its discovery document was unusable. */
export class ProviderUnavailableError extends Error {}

/** What a successful authorization code exchange proved: the ID token's claims. */
export type IdTokenClaims = client.IDToken;

const BACKCHANNEL_LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';
/** A logout token older than this is refused (its iat). */
const LOGOUT_TOKEN_MAX_AGE_SECONDS = 120;
/** Seconds a request to the provider may take. */
const PROVIDER_TIMEOUT_SECONDS = 5;
/** After a failed discovery, the next attempt waits at least this long (requests meanwhile fail fast). */
const RETRY_AFTER_FAILURE_MS = 2000;

export interface LogoutClaims {
  sub?: string;
  sid?: string;
}

/**
 * The relying party's side of the provider (openid-client): discovered at first use, not at
 * start-up, so a provider that is down makes single sign-on fail clearly (ProviderUnavailableError)
 * while the rest of the API serves; a failed discovery is tried again on a later request.
 */
@Injectable()
export class OidcClient {
  private readonly logger = new Logger(OidcClient.name);
  private readonly settings: OidcConfig;
  private discovered?: Promise<client.Configuration>;
  private failedAt = 0;
  private jwks?: ReturnType<typeof createRemoteJWKSet>;

  constructor(config: AppConfig) {
    this.settings = config.oidc!;
  }

  /** The authorization URL for a new flow (PKCE S256, state, nonce; a step-up forces a fresh login). */
  async authorizationUrl(flow: { state: string; nonce: string; codeVerifier: string; stepUp: boolean }): Promise<URL> {
    const configuration = await this.configuration();
    const parameters: Record<string, string> = {
      redirect_uri: this.settings.redirectUri,
      scope: 'openid profile email',
      response_type: 'code',
      state: flow.state,
      nonce: flow.nonce,
      code_challenge: await client.calculatePKCECodeChallenge(flow.codeVerifier),
      code_challenge_method: 'S256',
    };
    if (flow.stepUp) {
      parameters.prompt = 'login';
      parameters.max_age = '0';
    }
    return client.buildAuthorizationUrl(configuration, parameters);
  }

  /**
   * Exchanges the code of the callback URL and checks the ID token (signature against the
   * provider's keys, iss, aud, exp, nonce; state and PKCE too). Throws on any failure.
   */
  async exchange(callbackUrl: URL, checks: { state: string; nonce: string; codeVerifier: string; stepUp: boolean }): Promise<IdTokenClaims> {
    const configuration = await this.configuration();
    const tokens = await client.authorizationCodeGrant(configuration, callbackUrl, {
      expectedState: checks.state,
      expectedNonce: checks.nonce,
      pkceCodeVerifier: checks.codeVerifier,
      idTokenExpected: true,
      ...(checks.stepUp ? { maxAge: 0 } : {}),
    });
    const claims = tokens.claims();
    if (!claims) throw new Error('the provider returned no ID token');
    return claims;
  }

  /**
   * Verifies a back-channel logout token (OpenID Connect Back-Channel Logout 1.0 §2.6): signed by
   * the provider's keys, iss, aud, a recent iat, the logout event, sid or sub, and no nonce.
   * Returns null for any invalid token.
   */
  async verifyLogoutToken(token: string): Promise<LogoutClaims | null> {
    const configuration = await this.configuration();
    const metadata = configuration.serverMetadata();
    if (!metadata.jwks_uri) throw new ProviderUnavailableError('the provider publishes no jwks_uri');
    this.jwks ??= createRemoteJWKSet(new URL(metadata.jwks_uri), { timeoutDuration: PROVIDER_TIMEOUT_SECONDS * 1000 });
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.jwks, {
        issuer: metadata.issuer,
        audience: this.settings.clientId,
        maxTokenAge: LOGOUT_TOKEN_MAX_AGE_SECONDS,
        requiredClaims: ['iat', 'jti', 'events'],
      }));
    } catch {
      return null;
    }
    const events = payload.events as Record<string, unknown> | undefined;
    const event = events && typeof events === 'object' ? events[BACKCHANNEL_LOGOUT_EVENT] : undefined;
    if (!event || typeof event !== 'object') return null;
    if ('nonce' in payload) return null;
    const sid = typeof payload.sid === 'string' && payload.sid.length > 0 ? payload.sid : undefined;
    const sub = typeof payload.sub === 'string' && payload.sub.length > 0 ? payload.sub : undefined;
    if (!sid && !sub) return null;
    return { sid, sub };
  }

  /** The discovered configuration; one discovery at a time, tried again after a failure. */
  private configuration(): Promise<client.Configuration> {
    if (this.discovered) return this.discovered;
    if (Date.now() - this.failedAt < RETRY_AFTER_FAILURE_MS) {
      return Promise.reject(new ProviderUnavailableError('the identity provider was unreachable moments ago'));
    }
    const issuer = new URL(this.settings.issuer);
    const attempt = client
      .discovery(issuer, this.settings.clientId, undefined, client.ClientSecretBasic(this.settings.clientSecret), {
        timeout: PROVIDER_TIMEOUT_SECONDS,
        // http:// issuers are allowed only outside production (the configuration refuses them there).
        ...(issuer.protocol === 'http:' ? { execute: [client.allowInsecureRequests] } : {}),
      })
      .catch((error: unknown) => {
        this.discovered = undefined;
        this.failedAt = Date.now();
        this.logger.warn(`OpenID Connect discovery at ${issuer.origin} failed: ${(error as Error).message}`);
        throw new ProviderUnavailableError('the identity provider could not be reached');
      });
    this.discovered = attempt;
    return attempt;
  }
}
