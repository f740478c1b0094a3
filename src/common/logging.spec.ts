import { redactUrl } from './logging';

describe('URLs in log lines', () => {
  const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.c2lnbmF0dXJl';
  const key = `aurora_${'A1b2'.repeat(9)}xy`;

  it('redacts credential-like parameters, also when their names are percent-encoded', () => {
    expect(redactUrl(`/api/v1/ws/alerts?token=${jwt}&x=1`)).toBe('/api/v1/ws/alerts?token=[REDACTED]&x=1');
    expect(redactUrl(`/a?to%6Ben=secret-value`)).toBe('/a?to%6Ben=[REDACTED]');
    expect(redactUrl(`/a?access%5Ftoken=secret-value`)).toBe('/a?access%5Ftoken=[REDACTED]');
  });

  it('redacts anything shaped like a token or a key, wherever it stands', () => {
    expect(redactUrl(`/a?q=${jwt}`)).toBe('/a?q=[REDACTED]');
    expect(redactUrl(`/a/${key}/b`)).toBe('/a/[REDACTED]/b');
  });

  it('leaves ordinary URLs alone', () => {
    expect(redactUrl('/api/v1/alerts?status=open&limit=20')).toBe('/api/v1/alerts?status=open&limit=20');
    expect(redactUrl(undefined)).toBeUndefined();
  });
});
