import type { Request } from 'express';
import { httpCarrier } from './authenticator';

describe('httpCarrier: what an HTTP request carries to the one decision', () => {
  function countingRequest() {
    const reads = { cookies: 0, ip: 0 };
    const request = {
      method: 'GET',
      headers: { authorization: 'Bearer x', 'user-agent': 'ua/1' },
      id: 'req-1',
      get cookies() {
        reads.cookies++;
        return { access_token: 'cookie-token' };
      },
      get ip() {
        reads.ip++;
        return '10.1.2.3';
      },
    };
    return { request: request as unknown as Request, reads };
  }

  it('reads neither the cookies nor the client address until a rule asks for them', () => {
    const { request, reads } = countingRequest();
    const carrier = httpCarrier(request);
    expect(carrier).toMatchObject({ channel: 'http', method: 'GET', headers: request.headers });
    expect(reads).toEqual({ cookies: 0, ip: 0 });
    expect(carrier.cookies).toEqual({ access_token: 'cookie-token' });
    expect(reads).toEqual({ cookies: 1, ip: 0 });
  });

  it('works the client details out once, from the request', () => {
    const { request, reads } = countingRequest();
    const carrier = httpCarrier(request);
    expect(carrier.client).toEqual({ ip: '10.1.2.3', userAgent: 'ua/1', requestId: 'req-1' });
    expect(carrier.client).toBe(carrier.client);
    expect(reads.ip).toBe(1);
  });
});
