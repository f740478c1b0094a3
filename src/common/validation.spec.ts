import { parse as parseQuery } from 'node:querystring';
import { BadRequestException } from '@nestjs/common';
import { Type } from 'class-transformer';
import { getMetadataStorage, IsInt, IsString, Min } from 'class-validator';
import { ListAlertsQuery, CreateAlertDto, UpdateAlertDto } from '../alerts/alerts.dto';
import { CreateApiKeyDto, RotateApiKeyDto, UpdateApiKeyDto } from '../api-keys/api-keys.dto';
import { ExportAuditEventsQuery, ListAuditEventsQuery } from '../audit/audit.dto';
import { LoginDto } from '../auth/auth.dto';
import { ChangeOwnPasswordDto, CreateUserDto, UpdateUserDto } from '../users/users.dto';
import { ContractValidationPipe, OptionalField } from './validation';

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

const pipe = new ContractValidationPipe();
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

describe('ContractValidationPipe', () => {
  const DROPPED = ['__proto__', 'prototype', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', 'isPrototypeOf', '__defineGetter__'];

  it.each(DROPPED)('refuses a body with the key %s, which would be dropped without a word', async (key) => {
    const body = JSON.parse(`{"name":"x",${JSON.stringify(key)}:{"polluted":true}}`) as Record<string, unknown>;
    expect(Object.keys(body)).toContain(key);
    expect(await problems(Sample, body)).toEqual([`property ${key} should not exist`]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it.each(DROPPED)('refuses a query string with the parameter %s', async (key) => {
    expect(await problems(Sample, parseQuery(`limit=5&${encodeURIComponent(key)}=1`), 'query')).toEqual([`property ${key} should not exist`]);
  });

  it('refuses a body that is not an object', async () => {
    for (const body of [[], [{ name: 'x' }], 'text', 5, true]) expect(await problems(Sample, body)).not.toEqual([]);
  });

  it('leaves values it does not validate alone', async () => {
    expect(await pipe.transform('abc', { type: 'param', metatype: String, data: 'id' })).toBe('abc');
  });
});

/** Every request class of the API: a field declared with IsOptional instead of OptionalField fails here. */
const REQUEST_CLASSES: Array<new () => object> = [
  LoginDto,
  CreateUserDto,
  UpdateUserDto,
  ChangeOwnPasswordDto,
  CreateApiKeyDto,
  UpdateApiKeyDto,
  RotateApiKeyDto,
  CreateAlertDto,
  UpdateAlertDto,
  ListAlertsQuery,
  ListAuditEventsQuery,
  ExportAuditEventsQuery,
];

describe.each(REQUEST_CLASSES.map((metatype) => [metatype.name, metatype] as const))('%s', (_name, metatype) => {
  const fields = [
    ...new Set(
      getMetadataStorage()
        .getTargetValidationMetadatas(metatype, '', false, false)
        .map((m) => m.propertyName),
    ),
  ];

  it('declares fields', () => expect(fields.length).toBeGreaterThan(0));

  /** Where the API takes null as a value: a key's rate_limit (null removes the limit), an alert's assignee (null unassigns). */
  const nullable = new Set(['rate_limit', 'assignee']);

  it.each(fields.filter((field) => !nullable.has(field)))('refuses null in %s', async (field) => {
    const messages = await problems(metatype, { [field]: null });
    expect(messages.some((message) => message.startsWith(`${field} `) || message.includes(` ${field} `))).toBe(true);
  });
});
