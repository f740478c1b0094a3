import { safeReturnTo } from './return-to';

describe('safeReturnTo', () => {
  it.each(['/', '/alerts', '/alerts?status=open#top', '/a/b/c'])('keeps the same-site path %s', (path) => {
    expect(safeReturnTo(path)).toBe(path);
  });

  it.each([
    ['a scheme-relative URL', '//evil.example/x'],
    ['an absolute URL', 'https://evil.example/'],
    ['a javascript: URL', 'javascript:alert(1)'],
    ['a backslash that browsers read as a slash', '/\\evil.example'],
    ['a backslash later on', '/ok\\..\\x'],
    ['a relative path', 'alerts'],
    ['a tab inside (browsers strip it: //evil)', '/\t/evil.example'],
    ['a newline', '/alerts\n'],
    ['an empty value', ''],
    ['a non-string (repeated parameter)', ['/a', '/b']],
    ['nothing', undefined],
    ['an overlong value', `/${'a'.repeat(3000)}`],
  ])('refuses %s and gives /', (_what, raw) => {
    expect(safeReturnTo(raw)).toBe('/');
  });
});
