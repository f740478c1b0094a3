import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isRole, type Role } from '../access/permissions';
import { readOidcConfig, type OidcConfig } from './oidc-config';

/** Every setting of the service, read and validated once at start-up (see docs/api.md). */
export class AppConfig {
  port: number;
  host: string;
  nodeEnv: string;
  isProduction: boolean;
  databaseUrl?: string;
  dataDir: string;
  jwtSecret: string;
  jwtSecretPrevious?: string;
  jwtExpirySeconds: number;
  /** A session ends after this long without a request; 0: only its expiry ends it. */
  sessionIdleSeconds: number;
  apiKeyCacheTtlSeconds: number;
  apiKeyCacheMaxEntries: number;
  allowedOrigins: string[];
  cookieSecure: boolean;
  trustProxy?: string | number | boolean;
  redisUrl?: string;
  loginMaxPerIp: number;
  loginMaxFailuresPerUser: number;
  adminUsername?: string;
  adminPassword?: string;
  logLevel: string;
  metricsPort: number;
  metricsHost: string;
  /** Audit events older than this many days are deleted (0: kept forever); README "Audit". */
  auditRetentionDays: number;
  /** Roles whose users must enrol a second factor before they may do anything else. */
  mfaRequiredRoles: Role[];
  /** How long a second factor verified in a session counts for sensitive actions. */
  stepUpMaxAgeSeconds: number;
  /** Encrypts TOTP secrets at rest; unset: a key derived from JWT_SECRET_KEY (README "Second factors"). */
  mfaEncryptionKey?: string;
  webauthnRpId: string;
  webauthnRpName: string;
  /** Single sign-on (OpenID Connect); null when OIDC_ISSUER is unset. */
  oidc: OidcConfig | null;
}

export class ConfigError extends Error {}

const MIN_SECRET_LENGTH = 32;
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
export const GENERATED_SECRET_FILE = 'jwt-secret';

type Env = Record<string, string | undefined>;

class EnvReader {
  readonly errors: string[] = [];
  constructor(private readonly env: Env) {}

  string(name: string): string | undefined {
    const value = this.env[name];
    return value === undefined || value === '' ? undefined : value;
  }

  integer(name: string, fallback: number, min: number, max: number): number {
    const raw = this.string(name);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!/^-?\d+$/.test(raw.trim()) || value < min || value > max) {
      this.errors.push(`${name} must be an integer between ${min} and ${max}`);
      return fallback;
    }
    return value;
  }

  positiveNumber(name: string, fallback: number): number {
    const raw = this.string(name);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!Number.isFinite(value) || value <= 0) {
      this.errors.push(`${name} must be a positive number`);
      return fallback;
    }
    return value;
  }

  nonNegativeNumber(name: string, fallback: number): number {
    const raw = this.string(name);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(value) || value < 0) {
      this.errors.push(`${name} must be a number, 0 or more`);
      return fallback;
    }
    return value;
  }

  boolean(name: string, fallback: boolean): boolean {
    const raw = this.string(name)?.toLowerCase();
    if (raw === undefined) return fallback;
    if (['true', '1', 'yes'].includes(raw)) return true;
    if (['false', '0', 'no'].includes(raw)) return false;
    this.errors.push(`${name} must be true or false`);
    return fallback;
  }
}

function parseTrustProxy(raw: string | undefined): string | number | boolean | undefined {
  if (raw === undefined) return undefined;
  if (raw === 'true') return true;
  if (raw === 'false') return false;
  if (/^\d+$/.test(raw)) return Number(raw);
  return raw;
}

function parseOrigins(raw: string | undefined, port: number, errors: string[]): string[] {
  if (raw === undefined) return [`http://localhost:${port}`];
  const origins = raw
    .split(',')
    .map((origin) => origin.trim())
    .filter(Boolean);
  for (const origin of origins) {
    try {
      const url = new URL(origin);
      if (url.origin !== origin) errors.push(`ALLOWED_ORIGINS entry "${origin}" must be an origin like https://soc.example.com`);
    } catch {
      errors.push(`ALLOWED_ORIGINS entry "${origin}" is not a URL origin`);
    }
  }
  return origins;
}

function parseRoles(raw: string | undefined, errors: string[]): Role[] {
  if (raw === undefined) return [];
  const roles = raw
    .split(',')
    .map((role) => role.trim())
    .filter(Boolean);
  const unknown = roles.filter((role) => !isRole(role));
  if (unknown.length > 0) errors.push(`MFA_REQUIRED_ROLES names unknown roles: ${unknown.join(', ')}`);
  return [...new Set(roles.filter(isRole))];
}

/** The relying party id: a host name (no scheme, port or path); by default the first allowed origin's. */
function parseRpId(raw: string | undefined, origins: string[], errors: string[]): string {
  if (raw === undefined) {
    try {
      return new URL(origins[0]).hostname;
    } catch {
      return 'localhost';
    }
  }
  if (!/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/i.test(raw)) errors.push('WEBAUTHN_RP_ID must be a host name such as soc.example.com');
  return raw.toLowerCase();
}

/**
 * Outside production, a missing secret is generated once and kept (mode 0600) in DATA_DIR so that
 * tokens survive a restart. Production never gets here: it must be configured.
 */
export function loadOrCreateDevelopmentSecret(dataDir: string): string {
  const file = path.join(dataDir, GENERATED_SECRET_FILE);
  fs.mkdirSync(dataDir, { recursive: true });
  if (fs.existsSync(file)) {
    const existing = fs.readFileSync(file, 'utf8').trim();
    if (existing.length >= MIN_SECRET_LENGTH) return existing;
  }
  const secret = crypto.randomBytes(48).toString('base64url');
  fs.writeFileSync(file, secret, { mode: 0o600 });
  fs.chmodSync(file, 0o600);
  return secret;
}

export interface LoadedConfig {
  config: AppConfig;
  warnings: string[];
}

/** Reads the environment; throws one ConfigError that lists every problem on one line. */
export function loadConfig(env: Env = process.env): LoadedConfig {
  const read = new EnvReader(env);
  const warnings: string[] = [];
  const config = new AppConfig();
  config.nodeEnv = read.string('NODE_ENV') ?? 'development';
  // Case-insensitive: "Production" must not quietly run with development's generated secret.
  config.isProduction = config.nodeEnv.toLowerCase() === 'production';
  config.port = read.integer('PORT', 8000, 0, 65535);
  config.host = read.string('HOST') ?? '0.0.0.0';
  config.databaseUrl = read.string('DATABASE_URL');
  if (config.databaseUrl && !/^postgres(ql)?:\/\//.test(config.databaseUrl)) {
    read.errors.push('DATABASE_URL must start with postgres:// or postgresql://');
  }
  config.dataDir = path.resolve(read.string('DATA_DIR') ?? './data');
  config.jwtExpirySeconds = Math.round(read.positiveNumber('JWT_EXPIRY_HOURS', 24) * 3600);
  if (config.jwtExpirySeconds < 1) read.errors.push('JWT_EXPIRY_HOURS must be at least one second (0.0003)');
  config.sessionIdleSeconds = Math.round(read.nonNegativeNumber('SESSION_IDLE_MINUTES', 0) * 60);
  config.apiKeyCacheTtlSeconds = read.integer('API_KEY_CACHE_TTL_SECONDS', 30, 0, 86400);
  config.apiKeyCacheMaxEntries = read.integer('API_KEY_CACHE_MAX_ENTRIES', 10000, 1, 10_000_000);
  config.auditRetentionDays = read.integer('AUDIT_RETENTION_DAYS', 0, 0, 36500);
  config.allowedOrigins = parseOrigins(read.string('ALLOWED_ORIGINS'), config.port, read.errors);
  config.cookieSecure = read.boolean('COOKIE_SECURE', config.isProduction);
  config.trustProxy = parseTrustProxy(read.string('TRUST_PROXY'));
  config.redisUrl = read.string('REDIS_URL');
  if (config.redisUrl && !/^rediss?:\/\//.test(config.redisUrl)) {
    read.errors.push('REDIS_URL must start with redis:// or rediss://');
  }
  config.loginMaxPerIp = read.integer('LOGIN_MAX_PER_IP', 20, 1, 1_000_000);
  config.loginMaxFailuresPerUser = read.integer('LOGIN_MAX_FAILURES_PER_USER', 5, 1, 1_000_000);
  config.adminUsername = read.string('AURORA_ADMIN_USERNAME');
  config.adminPassword = read.string('AURORA_ADMIN_PASSWORD');
  if (Boolean(config.adminUsername) !== Boolean(config.adminPassword)) {
    read.errors.push('AURORA_ADMIN_USERNAME and AURORA_ADMIN_PASSWORD must be set together');
  }
  config.logLevel = (read.string('LOG_LEVEL') ?? 'info').toLowerCase();
  if (!LOG_LEVELS.includes(config.logLevel)) read.errors.push(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}`);
  config.metricsPort = read.integer('METRICS_PORT', 9464, 0, 65535);
  config.metricsHost = read.string('METRICS_HOST') ?? '127.0.0.1';
  config.mfaRequiredRoles = parseRoles(read.string('MFA_REQUIRED_ROLES'), read.errors);
  config.stepUpMaxAgeSeconds = read.integer('STEP_UP_MAX_AGE_SECONDS', 300, 1, 86400);
  config.webauthnRpId = parseRpId(read.string('WEBAUTHN_RP_ID'), config.allowedOrigins, read.errors);
  config.webauthnRpName = read.string('WEBAUTHN_RP_NAME') ?? 'AuroraSOC';
  const mfaKey = read.string('MFA_ENCRYPTION_KEY');
  if (mfaKey !== undefined && mfaKey.length < MIN_SECRET_LENGTH) read.errors.push(`MFA_ENCRYPTION_KEY must be at least ${MIN_SECRET_LENGTH} characters`);
  config.mfaEncryptionKey = mfaKey;
  config.oidc = readOidcConfig(env, config.allowedOrigins, config.isProduction, read.errors);

  const secret = read.string('JWT_SECRET_KEY');
  if (secret !== undefined && secret.length < MIN_SECRET_LENGTH) {
    read.errors.push(`JWT_SECRET_KEY must be at least ${MIN_SECRET_LENGTH} characters`);
  } else if (secret === undefined && config.isProduction) {
    read.errors.push('JWT_SECRET_KEY is required in production (at least 32 characters)');
  }
  const previous = read.string('JWT_SECRET_KEY_PREVIOUS');
  if (previous !== undefined && previous.length < MIN_SECRET_LENGTH) {
    read.errors.push(`JWT_SECRET_KEY_PREVIOUS must be at least ${MIN_SECRET_LENGTH} characters`);
  }
  config.jwtSecretPrevious = previous;

  if (read.errors.length > 0) {
    // One line, whatever the values quoted in it contain.
    throw new ConfigError(`Invalid configuration: ${read.errors.join('; ').replace(/[\r\n]+/g, ' ')}`);
  }
  if (secret === undefined) {
    config.jwtSecret = loadOrCreateDevelopmentSecret(config.dataDir);
    warnings.push(
      `JWT_SECRET_KEY is not set: using a generated development secret stored in ${path.join(config.dataDir, GENERATED_SECRET_FILE)}; set JWT_SECRET_KEY in production`,
    );
  } else {
    config.jwtSecret = secret;
  }
  return { config, warnings };
}
