import { ValidateBy, ValidationOptions } from 'class-validator';

/** Characters as PostgreSQL's varchar(n) counts them: code points. */
export function charLength(value: string): number {
  let count = 0;
  for (const _ of value) count++;
  return count;
}

/**
 * A string of min..max characters counted as the database counts them. class-validator's @Length
 * leaves out the variation selectors U+FE0E/U+FE0F, so 4,000 "a\uFE0F" passed as 4,000 and
 * reached a varchar(4000) column as 8,000: a 500.
 */
export function CharLength(min: number, max: number, options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'charLength',
      constraints: [min, max],
      validator: {
        validate: (value: unknown) => typeof value === 'string' && charLength(value) >= min && charLength(value) <= max,
        defaultMessage: (args) => `${args?.property} must be ${min} to ${max} characters long`,
      },
    },
    options,
  );
}
