import { ArgumentMetadata, ValidationPipe, ValidationPipeOptions } from '@nestjs/common';
import { ValidateIf, ValidationOptions } from 'class-validator';

/**
 * A field the client may leave out. Used instead of class-validator's @IsOptional(), which also
 * skips every check for `null`: a `null` role, password or flag then reached the services and the
 * database and answered 500 (issue 12, finding 6). Here only an absent field (`undefined`) skips
 * the field's other decorators; `null`, like any other wrong type, is validated and refused with
 * 400, as the API promises. ValidateIf also registers the property, so `whitelist` keeps it.
 */
export function OptionalField(options?: ValidationOptions): PropertyDecorator {
  return ValidateIf((_object: object, value: unknown) => value !== undefined, options);
}

/**
 * Keys dropped before validation without a word: ValidationPipe strips these three (its guard
 * against prototype pollution) and class-transformer skips any key that names a member the DTO
 * inherits (`toString`, `hasOwnProperty`, ...). `whitelist` therefore never saw them, and
 * `{"role": "admin", "__proto__": 1}` was accepted as if the key were not there, though a field
 * outside the contract must be refused.
 */
const STRIPPED_KEYS = new Set(['__proto__', 'prototype', 'constructor']);

/**
 * The validation of every request body and query string: the DTO's rules, unknown fields refused
 * (those dropped silently included), values converted to the DTO's types.
 */
export class ContractValidationPipe extends ValidationPipe {
  constructor(options: ValidationPipeOptions = {}) {
    super({ whitelist: true, forbidNonWhitelisted: true, transform: true, ...options });
  }

  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    const { metatype } = metadata;
    if (metatype && this.toValidate(metadata) && value !== null && typeof value === 'object' && !Array.isArray(value)) {
      const dropped = Object.keys(value).filter((key) => STRIPPED_KEYS.has(key) || key in metatype.prototype);
      if (dropped.length > 0) {
        throw await this.exceptionFactory(
          dropped.map((property) => ({ property, constraints: { whitelistValidation: `property ${property} should not exist` }, children: [] })),
        );
      }
    }
    return super.transform(value, metadata);
  }
}
