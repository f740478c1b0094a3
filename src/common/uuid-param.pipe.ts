import { Injectable, NotFoundException, PipeTransform } from '@nestjs/common';

export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A resource id in the path: anything that is not a UUID names no resource, hence 404. */
@Injectable()
export class UuidParamPipe implements PipeTransform<string, string> {
  transform(value: string): string {
    if (!UUID_PATTERN.test(value)) throw new NotFoundException('no resource with this id');
    return value.toLowerCase();
  }
}
