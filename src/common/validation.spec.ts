import { BadRequestException, ValidationPipe } from '@nestjs/common';
import { Type } from 'class-transformer';
import { getMetadataStorage, IsInt, IsString, Min } from 'class-validator';
import { ListAlertsQuery, CreateAlertDto, UpdateAlertDto } from '../alerts/alerts.dto';
import { CreateApiKeyDto, RotateApiKeyDto } from '../api-keys/api-keys.dto';
import { ExportAuditEventsQuery, ListAuditEventsQuery } from '../audit/audit.dto';
import { LoginDto } from '../auth/auth.dto';
import { ChangeOwnPasswordDto, CreateUserDto, UpdateUserDto } from '../users/users.dto';
import { OptionalField } from './validation';

class Sample {
  @OptionalField()
  @IsString()
  name?: string;

  @OptionalField()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  limit?: number;
}

/** The pipe exactly as app.setup.ts configures it. */
const pipe = new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true, transform: true });
const validate = (metatype: new () => object, value: unknown, type: 'body' | 'query' = 'body') => pipe.transform(value, { type, metatype });

async function problems(metatype: new () => object, value: unknown, type: 'body' | 'query' = 'body'): Promise<string[]> {
  try {
    await validate(metatype, value, type);
    return [];
  } catch (error) {
    expect(error).toBeInstanceOf(BadRequestException);
    return ((error as BadRequestException).getResponse() as { message: string[] }).message;
  }
}

describe('OptionalField', () => {
  it('lets an absent field through and keeps a present one of the right type', async () => {
    expect(await validate(Sample, {})).toEqual({});
    expect(await validate(Sample, { name: 'x', limit: 3 })).toEqual({ name: 'x', limit: 3 });
  });

  it('refuses null, unlike IsOptional', async () => {
    expect(await problems(Sample, { name: null })).toEqual([expect.stringMatching(/^name must be a string/)]);
    expect(await problems(Sample, { limit: null })).toEqual(expect.arrayContaining([expect.stringMatching(/^limit must be an integer/)]));
  });

  it('refuses other wrong types', async () => {
    for (const name of [1, true, [], ['x'], {}, { toString: 'x' }]) expect(await problems(Sample, { name })).not.toEqual([]);
  });

  it('refuses an empty or non-numeric query value for a number', async () => {
    for (const limit of ['', ' ', 'abc', '1.5', ['1', '2'], '0']) expect(await problems(Sample, { limit }, 'query')).not.toEqual([]);
    expect(await validate(Sample, { limit: '7' }, 'query')).toEqual({ limit: 7 });
  });

  it('still refuses fields that no decorator names', async () => {
    expect(await problems(Sample, { other: 1 })).toEqual(['property other should not exist']);
  });
});

/** Every request class of the API: a field declared with IsOptional instead of OptionalField fails here. */
const REQUEST_CLASSES: Array<new () => object> = [
  LoginDto,
  CreateUserDto,
  UpdateUserDto,
  ChangeOwnPasswordDto,
  CreateApiKeyDto,
  RotateApiKeyDto,
  CreateAlertDto,
  UpdateAlertDto,
  ListAlertsQuery,
  ListAuditEventsQuery,
  ExportAuditEventsQuery,
];

describe.each(REQUEST_CLASSES.map((metatype) => [metatype.name, metatype] as const))('%s', (_name, metatype) => {
  const fields = [...new Set(getMetadataStorage().getTargetValidationMetadatas(metatype, '', false, false).map((m) => m.propertyName))];

  it('declares fields', () => expect(fields.length).toBeGreaterThan(0));

  it.each(fields)('refuses null in %s', async (field) => {
    const messages = await problems(metatype, { [field]: null });
    expect(messages.some((message) => message.startsWith(`${field} `) || message.includes(` ${field} `))).toBe(true);
  });
});
