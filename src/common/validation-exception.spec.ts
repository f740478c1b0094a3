import type { ValidationError } from '@nestjs/common';
import { MAX_PROBLEM_LENGTH, MAX_VALIDATION_PROBLEMS, validationException } from './validation-exception';

const problem = (property: string, constraints: Record<string, string>, children: ValidationError[] = []): ValidationError => ({
  property,
  constraints,
  children,
});
const messagesOf = (errors: ValidationError[]) => (validationException(errors).getResponse() as { message: string[] }).message;

describe('validation errors', () => {
  it('lists every problem when there are at most 10, nested ones under their parent path as Nest does', () => {
    const errors = [
      problem('role', { isIn: 'role must be one of viewer, admin' }),
      problem('address', {}, [problem('city', { isString: 'city must be a string' })]),
    ];
    expect(validationException(errors).getStatus()).toBe(400);
    expect(messagesOf(errors)).toEqual(['role must be one of viewer, admin', 'address.city must be a string']);
  });

  it('names at most 10 problems, then how many more there were', () => {
    const errors = Array.from({ length: 25 }, (_, i) => problem(`field${i}`, { whitelistValidation: `property field${i} should not exist` }));
    const messages = messagesOf(errors);
    expect(messages).toHaveLength(MAX_VALIDATION_PROBLEMS + 1);
    expect(messages.slice(0, MAX_VALIDATION_PROBLEMS)).toEqual(errors.slice(0, MAX_VALIDATION_PROBLEMS).map((e) => `property ${e.property} should not exist`));
    expect(messages[MAX_VALIDATION_PROBLEMS]).toBe('and 15 more problems');
  });

  it('cuts a problem that names a huge property', () => {
    const [message] = messagesOf([problem('k'.repeat(50_000), { whitelistValidation: `property ${'k'.repeat(50_000)} should not exist` })]);
    expect(message.length).toBe(MAX_PROBLEM_LENGTH);
    expect(message.endsWith('…')).toBe(true);
  });

  it('walks errors nested far deeper than the stack would allow recursion', () => {
    let deepest = problem('leaf', { isString: 'leaf must be a string' });
    for (let i = 0; i < 50_000; i++) deepest = problem('n', {}, [deepest]);
    // One problem, at the leaf: its path of 50,000 parents is cut like any long problem.
    expect(messagesOf([deepest])).toEqual([expect.stringMatching(/^n\.n\.n.*…$/)]);
  });
});
