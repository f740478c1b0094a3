import { ValidateIf, ValidationOptions } from 'class-validator';

/**
 * A field the client may leave out. Used instead of class-validator's @IsOptional(), which also
 * skips every check for `null`: a `null` role, password or flag then reached the services and the
 * database and answered 500 (issue 12, finding 6). Here only an absent field (`undefined`) skips
 * the field's other decorators; `null`, like any other wrong type, is validated and refused with
 * 400, as CONTRACT.md asks. ValidateIf also registers the property, so `whitelist` keeps it.
 */
export function OptionalField(options?: ValidationOptions): PropertyDecorator {
  return ValidateIf((_object: object, value: unknown) => value !== undefined, options);
}
