import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ConfigError, GENERATED_SECRET_FILE, loadConfig } from './app-config';

const SECRET = 'k'.repeat(32);

/** The message loadConfig refused the environment with. */
function refusal(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).message;
  }
  throw new Error('loadConfig accepted the environment');
}

describe('loadConfig', () => {
  let dataDir: string;

  beforeEach(() => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'aurora-config-'));
  });

  afterEach(() => {
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  describe('values that looked acceptable but were not', () => {
    it('treats NODE_ENV case-insensitively: "Production" is production and refuses a missing secret', () => {
      expect(refusal({ NODE_ENV: 'Production', DATA_DIR: dataDir })).toMatch(/JWT_SECRET_KEY/);
      expect(loadConfig({ NODE_ENV: 'PRODUCTION', JWT_SECRET_KEY: SECRET }).config.isProduction).toBe(true);
    });

    it('refuses a JWT_EXPIRY_HOURS that rounds to a zero-second lifetime', () => {
      expect(refusal({ JWT_SECRET_KEY: SECRET, JWT_EXPIRY_HOURS: '0.0001' })).toMatch(/JWT_EXPIRY_HOURS/);
      expect(loadConfig({ JWT_SECRET_KEY: SECRET, JWT_EXPIRY_HOURS: '0.0003' }).config.jwtExpirySeconds).toBe(1);
    });

    it('keeps the refusal on one line even when a quoted value holds a line break', () => {
      expect(refusal({ JWT_SECRET_KEY: SECRET, ALLOWED_ORIGINS: 'https://a.example\nhttps://b.example/x' })).not.toMatch(/[\r\n]/);
    });

    it('reads SESSION_IDLE_MINUTES as minutes, fractions allowed, and refuses negatives and words', () => {
      expect(loadConfig({ JWT_SECRET_KEY: SECRET, SESSION_IDLE_MINUTES: '0.5' }).config.sessionIdleSeconds).toBe(30);
      expect(refusal({ JWT_SECRET_KEY: SECRET, SESSION_IDLE_MINUTES: '-1' })).toMatch(/SESSION_IDLE_MINUTES/);
      expect(refusal({ JWT_SECRET_KEY: SECRET, SESSION_IDLE_MINUTES: 'ten' })).toMatch(/SESSION_IDLE_MINUTES/);
    });

    it('refuses unknown roles in MFA_REQUIRED_ROLES, a step-up age out of range, a short MFA_ENCRYPTION_KEY and an RP id that is not a host', () => {
      expect(refusal({ JWT_SECRET_KEY: SECRET, MFA_REQUIRED_ROLES: 'admin,root' })).toMatch(/MFA_REQUIRED_ROLES names unknown roles: root/);
      expect(refusal({ JWT_SECRET_KEY: SECRET, STEP_UP_MAX_AGE_SECONDS: '0' })).toMatch(/STEP_UP_MAX_AGE_SECONDS/);
      expect(refusal({ JWT_SECRET_KEY: SECRET, MFA_ENCRYPTION_KEY: 'short' })).toMatch(/MFA_ENCRYPTION_KEY must be at least 32/);
      expect(refusal({ JWT_SECRET_KEY: SECRET, WEBAUTHN_RP_ID: 'https://soc.example.com' })).toMatch(/WEBAUTHN_RP_ID/);
    });

    it('takes the WebAuthn relying party id from the first allowed origin by default', () => {
      expect(loadConfig({ JWT_SECRET_KEY: SECRET, ALLOWED_ORIGINS: 'https://soc.example.com:8443,https://b.example' }).config.webauthnRpId).toBe(
        'soc.example.com',
      );
    });
  });

  describe('defaults', () => {
    it('gives every variable of the contract its documented default', () => {
      const { config, warnings } = loadConfig({ JWT_SECRET_KEY: SECRET });

      expect(config).toEqual({
        nodeEnv: 'development',
        isProduction: false,
        port: 8000,
        host: '0.0.0.0',
        databaseUrl: undefined,
        dataDir: path.resolve('./data'),
        jwtSecret: SECRET,
        jwtSecretPrevious: undefined,
        jwtExpirySeconds: 24 * 3600,
        sessionIdleSeconds: 0,
        apiKeyCacheTtlSeconds: 30,
        apiKeyCacheMaxEntries: 10_000,
        allowedOrigins: ['http://localhost:8000'],
        cookieSecure: false,
        trustProxy: undefined,
        redisUrl: undefined,
        loginMaxPerIp: 20,
        loginMaxFailuresPerUser: 5,
        adminUsername: undefined,
        adminPassword: undefined,
        logLevel: 'info',
        metricsPort: 9464,
        metricsHost: '127.0.0.1',
        auditRetentionDays: 0,
        mfaRequiredRoles: [],
        oidc: null,
        stepUpMaxAgeSeconds: 300,
        mfaEncryptionKey: undefined,
        webauthnRpId: 'localhost',
        webauthnRpName: 'AuroraSOC',
      });
      expect(warnings).toEqual([]);
    });

    it('counts an empty variable as unset', () => {
      const { config } = loadConfig({ JWT_SECRET_KEY: SECRET, PORT: '', NODE_ENV: '', LOG_LEVEL: '', ALLOWED_ORIGINS: '', COOKIE_SECURE: '' });

      expect(config).toMatchObject({ port: 8000, nodeEnv: 'development', logLevel: 'info', allowedOrigins: ['http://localhost:8000'], cookieSecure: false });
    });

    it('reads every variable that is set', () => {
      const { config } = loadConfig({
        NODE_ENV: 'production',
        PORT: '9000',
        HOST: '127.0.0.1',
        DATABASE_URL: 'postgresql://aurora@db/aurora',
        DATA_DIR: dataDir,
        JWT_SECRET_KEY: SECRET,
        JWT_SECRET_KEY_PREVIOUS: 'p'.repeat(40),
        JWT_EXPIRY_HOURS: '0.5',
        SESSION_IDLE_MINUTES: '15',
        API_KEY_CACHE_TTL_SECONDS: '0',
        API_KEY_CACHE_MAX_ENTRIES: '50',
        ALLOWED_ORIGINS: 'https://soc.example.com',
        COOKIE_SECURE: 'false',
        TRUST_PROXY: 'loopback',
        REDIS_URL: 'rediss://cache:6380',
        LOGIN_MAX_PER_IP: '100',
        LOGIN_MAX_FAILURES_PER_USER: '3',
        AURORA_ADMIN_USERNAME: 'root@aurora.local',
        AURORA_ADMIN_PASSWORD: 'a long admin password',
        LOG_LEVEL: 'DEBUG',
        METRICS_PORT: '9100',
        METRICS_HOST: '0.0.0.0',
        AUDIT_RETENTION_DAYS: '90',
        MFA_REQUIRED_ROLES: 'admin, operator',
        STEP_UP_MAX_AGE_SECONDS: '60',
        MFA_ENCRYPTION_KEY: 'k'.repeat(40),
        WEBAUTHN_RP_ID: 'SOC.example.com',
        WEBAUTHN_RP_NAME: 'Example SOC',
      });

      expect(config).toEqual({
        nodeEnv: 'production',
        isProduction: true,
        port: 9000,
        host: '127.0.0.1',
        databaseUrl: 'postgresql://aurora@db/aurora',
        dataDir,
        jwtSecret: SECRET,
        jwtSecretPrevious: 'p'.repeat(40),
        jwtExpirySeconds: 1800,
        sessionIdleSeconds: 900,
        apiKeyCacheTtlSeconds: 0,
        apiKeyCacheMaxEntries: 50,
        allowedOrigins: ['https://soc.example.com'],
        cookieSecure: false,
        trustProxy: 'loopback',
        redisUrl: 'rediss://cache:6380',
        loginMaxPerIp: 100,
        loginMaxFailuresPerUser: 3,
        adminUsername: 'root@aurora.local',
        adminPassword: 'a long admin password',
        logLevel: 'debug',
        metricsPort: 9100,
        metricsHost: '0.0.0.0',
        auditRetentionDays: 90,
        mfaRequiredRoles: ['admin', 'operator'],
        oidc: null,
        stepUpMaxAgeSeconds: 60,
        mfaEncryptionKey: 'k'.repeat(40),
        webauthnRpId: 'soc.example.com',
        webauthnRpName: 'Example SOC',
      });
    });
  });

  describe('JWT_SECRET_KEY', () => {
    it('is required in production, and the refusal names it', () => {
      const message = refusal({ NODE_ENV: 'production', DATA_DIR: dataDir });

      expect(message).toContain('JWT_SECRET_KEY is required in production');
      expect(fs.readdirSync(dataDir)).toEqual([]);
    });

    it('is refused shorter than 32 characters, in production or not, without repeating it', () => {
      const short = 's3cr3t-'.repeat(4).slice(0, 31);

      for (const NODE_ENV of ['production', 'development']) {
        const message = refusal({ NODE_ENV, JWT_SECRET_KEY: short, DATA_DIR: dataDir });
        expect(message).toContain('JWT_SECRET_KEY must be at least 32 characters');
        expect(message).not.toContain(short);
      }
    });

    it('is accepted at 32 characters in production', () => {
      expect(loadConfig({ NODE_ENV: 'production', JWT_SECRET_KEY: SECRET }).config.jwtSecret).toBe(SECRET);
    });

    it('has a previous secret refused shorter than 32 characters', () => {
      expect(refusal({ JWT_SECRET_KEY: SECRET, JWT_SECRET_KEY_PREVIOUS: 'short' })).toContain('JWT_SECRET_KEY_PREVIOUS must be at least 32 characters');
    });

    describe('outside production, when unset', () => {
      it('is generated once, kept in DATA_DIR with mode 0600, and a warning says where', () => {
        const dir = path.join(dataDir, 'nested');

        const { config, warnings } = loadConfig({ DATA_DIR: dir });

        const file = path.join(dir, GENERATED_SECRET_FILE);
        expect(config.jwtSecret.length).toBeGreaterThanOrEqual(32);
        expect(fs.readFileSync(file, 'utf8')).toBe(config.jwtSecret);
        expect(fs.statSync(file).mode & 0o777).toBe(0o600);
        expect(warnings).toEqual([expect.stringContaining(file)]);
        expect(warnings[0]).toContain('JWT_SECRET_KEY is not set');
      });

      it('is the same secret on the next start', () => {
        const first = loadConfig({ DATA_DIR: dataDir }).config.jwtSecret;
        const second = loadConfig({ DATA_DIR: dataDir }).config.jwtSecret;

        expect(second).toBe(first);
      });

      it('replaces a stored secret that is too short, and makes the file 0600', () => {
        const file = path.join(dataDir, GENERATED_SECRET_FILE);
        fs.writeFileSync(file, 'short', { mode: 0o644 });

        const { config } = loadConfig({ DATA_DIR: dataDir });

        expect(config.jwtSecret).not.toBe('short');
        expect(config.jwtSecret.length).toBeGreaterThanOrEqual(32);
        expect(fs.readFileSync(file, 'utf8')).toBe(config.jwtSecret);
        expect(fs.statSync(file).mode & 0o777).toBe(0o600);
      });

      it('is not generated when another variable is invalid', () => {
        expect(refusal({ DATA_DIR: dataDir, PORT: 'eighty' })).toContain('PORT');
        expect(fs.readdirSync(dataDir)).toEqual([]);
      });
    });

    it('is used as given, with no file written and no warning, when set', () => {
      const { config, warnings } = loadConfig({ JWT_SECRET_KEY: SECRET, DATA_DIR: dataDir });

      expect(config.jwtSecret).toBe(SECRET);
      expect(warnings).toEqual([]);
      expect(fs.readdirSync(dataDir)).toEqual([]);
    });
  });

  it('reports every problem in one single-line message', () => {
    const message = refusal({
      NODE_ENV: 'production',
      PORT: 'eighty',
      LOG_LEVEL: 'loud',
      REDIS_URL: 'http://cache:6379',
      DATABASE_URL: 'mysql://db',
      AURORA_ADMIN_USERNAME: 'root',
      ALLOWED_ORIGINS: 'soc.example.com',
    });

    expect(message.startsWith('Invalid configuration: ')).toBe(true);
    expect(message).not.toContain('\n');
    for (const name of [
      'PORT',
      'LOG_LEVEL',
      'REDIS_URL',
      'DATABASE_URL',
      'AURORA_ADMIN_USERNAME and AURORA_ADMIN_PASSWORD',
      'ALLOWED_ORIGINS',
      'JWT_SECRET_KEY',
    ]) {
      expect(message).toContain(name);
    }
    expect(message.split('; ')).toHaveLength(7);
  });

  describe('numbers', () => {
    it.each([
      ['PORT', 'eighty', 'PORT must be an integer between 0 and 65535'],
      ['PORT', '65536', 'PORT must be an integer between 0 and 65535'],
      ['PORT', '-1', 'PORT must be an integer between 0 and 65535'],
      ['PORT', '80.5', 'PORT must be an integer between 0 and 65535'],
      ['PORT', '1e3', 'PORT must be an integer between 0 and 65535'],
      ['JWT_EXPIRY_HOURS', '0', 'JWT_EXPIRY_HOURS must be a positive number'],
      ['JWT_EXPIRY_HOURS', '-2', 'JWT_EXPIRY_HOURS must be a positive number'],
      ['JWT_EXPIRY_HOURS', 'a day', 'JWT_EXPIRY_HOURS must be a positive number'],
      ['JWT_EXPIRY_HOURS', 'Infinity', 'JWT_EXPIRY_HOURS must be a positive number'],
      ['SESSION_IDLE_MINUTES', '-1', 'SESSION_IDLE_MINUTES must be a number, 0 or more'],
      ['SESSION_IDLE_MINUTES', ' ', 'SESSION_IDLE_MINUTES must be a number, 0 or more'],
      ['SESSION_IDLE_MINUTES', 'ten', 'SESSION_IDLE_MINUTES must be a number, 0 or more'],
      ['API_KEY_CACHE_TTL_SECONDS', '-1', 'API_KEY_CACHE_TTL_SECONDS must be an integer between 0 and 86400'],
      ['API_KEY_CACHE_TTL_SECONDS', '86401', 'API_KEY_CACHE_TTL_SECONDS must be an integer between 0 and 86400'],
      ['API_KEY_CACHE_MAX_ENTRIES', '0', 'API_KEY_CACHE_MAX_ENTRIES must be an integer between 1 and 10000000'],
      ['LOGIN_MAX_PER_IP', '0', 'LOGIN_MAX_PER_IP must be an integer between 1 and 1000000'],
      ['LOGIN_MAX_FAILURES_PER_USER', 'five', 'LOGIN_MAX_FAILURES_PER_USER must be an integer between 1 and 1000000'],
      ['METRICS_PORT', '65536', 'METRICS_PORT must be an integer between 0 and 65535'],
    ])('refuses %s=%j', (name, value, expected) => {
      expect(refusal({ JWT_SECRET_KEY: SECRET, [name]: value })).toBe(`Invalid configuration: ${expected}`);
    });

    it('accepts the edges of each range', () => {
      const { config } = loadConfig({
        JWT_SECRET_KEY: SECRET,
        PORT: '65535',
        API_KEY_CACHE_TTL_SECONDS: '86400',
        API_KEY_CACHE_MAX_ENTRIES: '1',
        LOGIN_MAX_PER_IP: '1',
        SESSION_IDLE_MINUTES: '0',
        JWT_EXPIRY_HOURS: '168',
      });

      expect(config).toMatchObject({
        port: 65535,
        apiKeyCacheTtlSeconds: 86400,
        apiKeyCacheMaxEntries: 1,
        loginMaxPerIp: 1,
        sessionIdleSeconds: 0,
        jwtExpirySeconds: 168 * 3600,
      });
    });

    it('turns the metrics listener off with METRICS_PORT=0', () => {
      expect(loadConfig({ JWT_SECRET_KEY: SECRET, METRICS_PORT: '0' }).config.metricsPort).toBe(0);
    });

    it('turns the key cache off with API_KEY_CACHE_TTL_SECONDS=0', () => {
      expect(loadConfig({ JWT_SECRET_KEY: SECRET, API_KEY_CACHE_TTL_SECONDS: '0' }).config.apiKeyCacheTtlSeconds).toBe(0);
    });
  });

  describe('ALLOWED_ORIGINS', () => {
    it('defaults to localhost on the configured port', () => {
      expect(loadConfig({ JWT_SECRET_KEY: SECRET, PORT: '9000' }).config.allowedOrigins).toEqual(['http://localhost:9000']);
    });

    it('reads a comma-separated list, trimming spaces and dropping empty entries', () => {
      const { config } = loadConfig({ JWT_SECRET_KEY: SECRET, ALLOWED_ORIGINS: ' https://soc.example.com , http://localhost:3000,,' });

      expect(config.allowedOrigins).toEqual(['https://soc.example.com', 'http://localhost:3000']);
    });

    it.each([
      ['https://soc.example.com/', 'must be an origin like https://soc.example.com'],
      ['https://soc.example.com/console', 'must be an origin like https://soc.example.com'],
      ['HTTPS://SOC.example.com', 'must be an origin like https://soc.example.com'],
      ['https://soc.example.com:443', 'must be an origin like https://soc.example.com'],
      ['soc.example.com', 'is not a URL origin'],
    ])('refuses %j, naming the entry', (entry, problem) => {
      expect(refusal({ JWT_SECRET_KEY: SECRET, ALLOWED_ORIGINS: `https://ok.example.com,${entry}` })).toBe(
        `Invalid configuration: ALLOWED_ORIGINS entry "${entry}" ${problem}`,
      );
    });
  });

  describe('COOKIE_SECURE', () => {
    it('defaults to true in production and false elsewhere', () => {
      expect(loadConfig({ NODE_ENV: 'production', JWT_SECRET_KEY: SECRET }).config.cookieSecure).toBe(true);
      expect(loadConfig({ NODE_ENV: 'development', JWT_SECRET_KEY: SECRET }).config.cookieSecure).toBe(false);
      expect(loadConfig({ NODE_ENV: 'test', JWT_SECRET_KEY: SECRET }).config.cookieSecure).toBe(false);
    });

    it.each([
      ['true', true],
      ['TRUE', true],
      ['1', true],
      ['yes', true],
      ['false', false],
      ['0', false],
      ['No', false],
    ])('reads %j as %s', (value, expected) => {
      expect(loadConfig({ JWT_SECRET_KEY: SECRET, COOKIE_SECURE: value }).config.cookieSecure).toBe(expected);
    });

    it('refuses anything else', () => {
      expect(refusal({ JWT_SECRET_KEY: SECRET, COOKIE_SECURE: 'sometimes' })).toBe('Invalid configuration: COOKIE_SECURE must be true or false');
    });
  });

  describe('other variables', () => {
    it.each([
      ['true', true],
      ['false', false],
      ['1', 1],
      ['loopback', 'loopback'],
      ['10.0.0.0/8', '10.0.0.0/8'],
    ])('passes TRUST_PROXY=%j to Express as %j', (value, expected) => {
      expect(loadConfig({ JWT_SECRET_KEY: SECRET, TRUST_PROXY: value }).config.trustProxy).toBe(expected);
    });

    it('accepts postgres:// and postgresql:// database URLs only', () => {
      expect(loadConfig({ JWT_SECRET_KEY: SECRET, DATABASE_URL: 'postgres://db/aurora' }).config.databaseUrl).toBe('postgres://db/aurora');
      expect(refusal({ JWT_SECRET_KEY: SECRET, DATABASE_URL: 'db/aurora' })).toBe(
        'Invalid configuration: DATABASE_URL must start with postgres:// or postgresql://',
      );
    });

    it('accepts redis:// and rediss:// URLs only', () => {
      expect(loadConfig({ JWT_SECRET_KEY: SECRET, REDIS_URL: 'redis://cache' }).config.redisUrl).toBe('redis://cache');
      expect(refusal({ JWT_SECRET_KEY: SECRET, REDIS_URL: 'cache:6379' })).toBe('Invalid configuration: REDIS_URL must start with redis:// or rediss://');
    });

    it('wants both admin variables or neither', () => {
      expect(refusal({ JWT_SECRET_KEY: SECRET, AURORA_ADMIN_PASSWORD: 'a long admin password' })).toBe(
        'Invalid configuration: AURORA_ADMIN_USERNAME and AURORA_ADMIN_PASSWORD must be set together',
      );
    });

    it('refuses an unknown LOG_LEVEL, listing the known ones', () => {
      expect(refusal({ JWT_SECRET_KEY: SECRET, LOG_LEVEL: 'verbose' })).toBe(
        'Invalid configuration: LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent',
      );
    });

    it('resolves DATA_DIR to an absolute path', () => {
      expect(loadConfig({ JWT_SECRET_KEY: SECRET, DATA_DIR: 'var/aurora' }).config.dataDir).toBe(path.resolve('var/aurora'));
    });
  });
});
