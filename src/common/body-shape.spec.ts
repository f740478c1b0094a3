import { bodyShapeProblem, MAX_BODY_DEPTH, MAX_OBJECT_FIELDS } from './body-shape';

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

  it('refuses an object with more fields than the bound, at any depth, and allows long arrays', () => {
    const fields = (count: number) => Object.fromEntries(Array.from({ length: count }, (_, i) => [`k${i}`, i]));
    expect(bodyShapeProblem(fields(MAX_OBJECT_FIELDS))).toBeNull();
    expect(bodyShapeProblem(fields(MAX_OBJECT_FIELDS + 1))).toMatch(new RegExp(`${MAX_OBJECT_FIELDS + 1} fields`));
    expect(bodyShapeProblem({ nested: [{ deeper: fields(9000) }] })).toMatch(/9000 fields/);
    expect(bodyShapeProblem({ permissions: Array.from({ length: 1000 }, () => 'alerts:read') })).toBeNull();
  });
});
