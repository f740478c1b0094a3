import { HttpException, HttpStatus } from '@nestjs/common';

/** 429 (or 503) with a Retry-After header (the exception filter writes it). */
export class RetryLaterException extends HttpException {
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
    status: HttpStatus.TOO_MANY_REQUESTS | HttpStatus.SERVICE_UNAVAILABLE = HttpStatus.TOO_MANY_REQUESTS,
  ) {
    super(message, status);
  }
}
