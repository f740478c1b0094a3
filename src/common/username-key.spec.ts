import { usernameKey } from './username-key';

describe('usernameKey', () => {
  it('folds case so that differently-cased names are the same name', () => {
    expect(usernameKey('Alice@Example.COM')).toBe(usernameKey('alice@example.com'));
  });

  it('folds the German sharp s fully: "straße" and "STRASSE" are one name', () => {
    expect(usernameKey('straße')).toBe(usernameKey('STRASSE'));
  });

  it('gives a name with U+0130 (İ) the same key however it is typed, composed or not', () => {
    expect(usernameKey('İlker')).toBe(usernameKey('I\u0307lker'));
    expect(usernameKey('İlker')).toBe(usernameKey('i\u0307lker'));
  });

  it('normalises to NFC: a precomposed and a decomposed é are one name', () => {
    expect(usernameKey('Ren\u00e9')).toBe(usernameKey('Rene\u0301'));
  });

  it('keeps names that differ in letters apart', () => {
    expect(usernameKey('alice')).not.toBe(usernameKey('alicf'));
    expect(usernameKey('ilker')).not.toBe(usernameKey('İlker'));
  });
});
