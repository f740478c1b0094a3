import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { CharLength, charLength } from './char-length';

class Note {
  @CharLength(1, 4)
  text: unknown;
}

const problems = (text: unknown) => validateSync(plainToInstance(Note, { text })).map((error) => Object.values(error.constraints ?? {}).join());

describe('CharLength: characters as varchar(n) counts them', () => {
  it('counts code points: a variation selector and each half of nothing', () => {
    expect(charLength('a\uFE0F')).toBe(2);
    expect(charLength('😀')).toBe(1);
    expect(charLength('')).toBe(0);
  });

  it('accepts min..max characters and refuses outside it', () => {
    expect(problems('abcd')).toEqual([]);
    expect(problems('a')).toEqual([]);
    expect(problems('')).toEqual(['text must be 1 to 4 characters long']);
    expect(problems('abcde')).toEqual(['text must be 1 to 4 characters long']);
  });

  it('refuses what @Length lets through: variation selectors count', () => {
    expect(problems('a\uFE0Fa\uFE0F')).toEqual([]);
    expect(problems('a\uFE0Fa\uFE0Fa')).toEqual(['text must be 1 to 4 characters long']);
    expect(problems('😀😀😀😀')).toEqual([]);
  });

  it('refuses what is not a string', () => {
    expect(problems(1234)).toEqual(['text must be 1 to 4 characters long']);
  });
});
