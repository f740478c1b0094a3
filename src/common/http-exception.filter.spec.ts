import { QueryFailedError } from 'typeorm';
import { errorResponse } from './http-exception.filter';

const databaseError = (code: string, message = 'database error') => new QueryFailedError('SELECT 1', [], Object.assign(new Error(message), { code }));

describe('errorResponse for database errors', () => {
  it.each(['40P01', '40001'])('a deadlock or serialization failure (%s) is 503 with Retry-After: 1, not 500', (code) => {
    const { body, headers } = errorResponse(databaseError(code, 'deadlock detected'));
    expect(body.statusCode).toBe(503);
    expect(body.message).toMatch(/nothing was changed; retry/);
    expect(headers['Retry-After']).toBe('1');
  });

  it('a value too long for its column (22001) is 400 and does not echo the value', () => {
    const { body } = errorResponse(databaseError('22001', 'value too long for type character varying(4000)'));
    expect(body.statusCode).toBe(400);
    expect(body.message).toBe('a value is longer than its field allows');
  });

  it('any other database error stays a 500 that names nothing', () => {
    const { body, headers } = errorResponse(databaseError('42P01', 'relation "x" does not exist'));
    expect(body.statusCode).toBe(500);
    expect(body.message).not.toContain('relation');
    expect(headers['Retry-After']).toBeUndefined();
  });
});
