import { usernameIn } from './login-body';

describe('usernameIn: the username of an untrusted login body', () => {
  it('is the username when the body names one as a string', () => {
    expect(usernameIn({ username: 'alice', password: 'x' })).toBe('alice');
    expect(usernameIn({ username: '' })).toBe('');
  });

  it.each([
    ['no body', undefined],
    ['null', null],
    ['a string', 'username=alice'],
    ['a number', 42],
    ['a body without one', { password: 'x' }],
    ['a numeric username', { username: 42 }],
    ['an array username', { username: ['alice'] }],
    ['an object username', { username: { $ne: null } }],
  ])('is null for %s', (_name, body) => {
    expect(usernameIn(body)).toBeNull();
  });
});
