import { BadRequestException, type ValidationError } from '@nestjs/common';

/** A validation error names at most this many problems, however many the body has (contract). */
export const MAX_VALIDATION_PROBLEMS = 10;
/** A property name comes from the client and can be as long as the body: a problem is cut to this. */
export const MAX_PROBLEM_LENGTH = 200;

function clip(text: string): string {
  return text.length <= MAX_PROBLEM_LENGTH ? text : `${text.slice(0, MAX_PROBLEM_LENGTH - 1)}…`;
}

/**
 * The ValidationPipe's exceptionFactory: the first problems in the order Nest lists them (nested
 * ones prefixed with their parent's path, as Nest does), then how many more there were. Walks the
 * errors without recursion, so a deeply nested body cannot exhaust the stack.
 */
export function validationException(errors: ValidationError[]): BadRequestException {
  const problems: string[] = [];
  let total = 0;
  const pending: Array<{ error: ValidationError; parentPath: string }> = [];
  const pushAll = (list: ValidationError[], parentPath: string) => {
    for (let i = list.length - 1; i >= 0; i--) pending.push({ error: list[i], parentPath });
  };
  pushAll(errors, '');
  while (pending.length > 0) {
    const { error, parentPath } = pending.pop()!;
    for (const constraint of Object.values(error.constraints ?? {})) {
      total++;
      if (problems.length < MAX_VALIDATION_PROBLEMS) problems.push(clip(parentPath ? `${parentPath}.${constraint}` : constraint));
    }
    if (error.children?.length) pushAll(error.children, parentPath ? `${parentPath}.${error.property}` : String(error.property));
  }
  if (total > MAX_VALIDATION_PROBLEMS) problems.push(`and ${total - MAX_VALIDATION_PROBLEMS} more problems`);
  return new BadRequestException(problems);
}
