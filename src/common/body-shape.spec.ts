import { bodyShapeProblem, MAX_BODY_DEPTH } from './body-shape';

function nested(depth: number): unknown {
  let value: unknown = 1;
  for (let i = 0; i < depth; i++) value = { a: value };
  return value;
}

describe('request body shape', () => {
  it('accepts ordinary bodies, newlines and tabs included', () => {
    expect(bodyShapeProblem({ title: 'a\nb\tc', tags: ['x', { y: 1 }] })).toBeNull();
    expect(bodyShapeProblem(nested(MAX_BODY_DEPTH))).toBeNull();
  });

  it('refuses a NUL character in a value or a key, at any depth', () => {
    expect(bodyShapeProblem({ title: 'a\u0000b' })).toMatch(/NUL/);
    expect(bodyShapeProblem({ list: [{ deep: ['x\u0000'] }] })).toMatch(/NUL/);
    expect(bodyShapeProblem({ ['k\u0000']: 1 })).toMatch(/NUL/);
  });

  it('refuses bodies nested deeper than the bound without recursing', () => {
    expect(bodyShapeProblem(nested(MAX_BODY_DEPTH + 1))).toMatch(/deeper/);
    expect(bodyShapeProblem(nested(100_000))).toMatch(/deeper/);
  });
});
