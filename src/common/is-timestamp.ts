import { ValidateBy, ValidationOptions } from 'class-validator';

/** Calendar dates and times as JavaScript and PostgreSQL both read them, e.g. 2026-11-29T10:00:00Z. */
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/;

export function isTimestamp(value: unknown): boolean {
  return typeof value === 'string' && TIMESTAMP.test(value) && !Number.isNaN(Date.parse(value));
}

/**
 * An ISO 8601 date or date-time that actually parses. class-validator's IsISO8601 also admits week
 * and ordinal dates (2026-W48, 2026-333), which Date cannot read and which reached the database
 * as "NaN" (a 500).
 */
export function IsTimestamp(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isTimestamp',
      validator: {
        validate: isTimestamp,
        defaultMessage: (args) => `${args?.property} must be an ISO 8601 date or date-time such as 2026-11-29T10:00:00Z`,
      },
    },
    options,
  );
}
