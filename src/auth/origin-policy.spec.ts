import type { AppConfig } from '../config/app-config';
import { OriginPolicy } from './origin-policy';

const CONSOLE = 'https://soc.example.com';
const LOCAL = 'http://localhost:8000';
const FOREIGN = 'https://evil.example.net';

describe(OriginPolicy.name, () => {
  let sut: OriginPolicy;

  beforeEach(() => {
    sut = new OriginPolicy({ allowedOrigins: [CONSOLE, LOCAL] } as AppConfig);
  });

  describe('changesState', () => {
    it.each(['GET', 'HEAD', 'OPTIONS', 'get', 'head', 'options'])('treats %s as safe', (method) => {
      expect(sut.changesState(method)).toBe(false);
    });

    it.each(['POST', 'PUT', 'PATCH', 'DELETE', 'post', 'delete', 'PROPFIND'])('treats %s as changing state', (method) => {
      expect(sut.changesState(method)).toBe(true);
    });

    it('treats a request without a method as a GET', () => {
      expect(sut.changesState(undefined)).toBe(false);
    });
  });

  describe('isForeign', () => {
    it('accepts every origin in ALLOWED_ORIGINS', () => {
      expect(sut.isForeign({ origin: CONSOLE })).toBe(false);
      expect(sut.isForeign({ origin: LOCAL })).toBe(false);
    });

    it('refuses an Origin that is not in ALLOWED_ORIGINS', () => {
      expect(sut.isForeign({ origin: FOREIGN })).toBe(true);
    });

    it('compares origins exactly: another scheme, port or a trailing slash is foreign', () => {
      expect(sut.isForeign({ origin: 'http://soc.example.com' })).toBe(true);
      expect(sut.isForeign({ origin: 'https://soc.example.com:8443' })).toBe(true);
      expect(sut.isForeign({ origin: `${CONSOLE}/` })).toBe(true);
      expect(sut.isForeign({ origin: 'https://soc.example.com.evil.example.net' })).toBe(true);
    });

    it('refuses an empty Origin', () => {
      expect(sut.isForeign({ origin: '' })).toBe(true);
    });

    it('refuses the opaque Origin "null" (sandboxed frames, file: pages)', () => {
      expect(sut.isForeign({ origin: 'null' })).toBe(true);
    });

    it('lets Origin decide when both headers are present', () => {
      expect(sut.isForeign({ origin: CONSOLE, referer: `${FOREIGN}/page` })).toBe(false);
      expect(sut.isForeign({ origin: FOREIGN, referer: `${CONSOLE}/console` })).toBe(true);
      expect(sut.isForeign({ origin: '', referer: `${CONSOLE}/console` })).toBe(true);
    });

    it('falls back to the origin of the Referer when there is no Origin', () => {
      expect(sut.isForeign({ referer: `${CONSOLE}/console/alerts?id=7#top` })).toBe(false);
      expect(sut.isForeign({ referer: `${LOCAL}/` })).toBe(false);
    });

    it('refuses a Referer from an origin that is not allowed', () => {
      expect(sut.isForeign({ referer: `${FOREIGN}/console` })).toBe(true);
      expect(sut.isForeign({ referer: 'https://soc.example.com.evil.example.net/' })).toBe(true);
    });

    it('refuses a Referer that is not a URL', () => {
      expect(sut.isForeign({ referer: 'soc.example.com/console' })).toBe(true);
      expect(sut.isForeign({ referer: 'http://' })).toBe(true);
    });

    it('treats an empty Referer as absent', () => {
      expect(sut.isForeign({ referer: '' })).toBe(false);
    });

    it('does not call a request foreign when it names no origin at all', () => {
      expect(sut.isForeign({})).toBe(false);
      expect(sut.isForeign({ cookie: 'aurora_token=x', host: 'soc.example.com' })).toBe(false);
    });

    it('allows nothing but the configured origins', () => {
      const strict = new OriginPolicy({ allowedOrigins: [] as string[] } as AppConfig);

      expect(strict.isForeign({ origin: CONSOLE })).toBe(true);
      expect(strict.isForeign({ referer: `${CONSOLE}/` })).toBe(true);
      expect(strict.isForeign({})).toBe(false);
    });
  });
});
