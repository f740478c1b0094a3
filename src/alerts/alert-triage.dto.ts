import { ApiProperty } from '@nestjs/swagger';
import { ArrayMaxSize, ArrayMinSize, ArrayUnique, IsArray, IsString, Matches } from 'class-validator';
import { CharLength } from '../common/char-length';
import { UUID_PATTERN } from '../common/uuid-param.pipe';
import { type AlertView, UpdateAlertDto } from './alerts.dto';

export const MAX_BULK_IDS = 500;
export const MAX_NOTE_LENGTH = 4000;

export class BulkUpdateAlertsDto extends UpdateAlertDto {
  @ApiProperty({ type: [String], minItems: 1, maxItems: MAX_BULK_IDS, description: 'alert ids, each once; all are changed or none' })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_BULK_IDS)
  @IsString({ each: true })
  @Matches(UUID_PATTERN, { each: true, message: 'ids must be alert ids (UUIDs)' })
  @ArrayUnique((id: unknown) => (typeof id === 'string' ? id.toLowerCase() : id), { message: 'ids must not repeat an id' })
  ids: string[];
}

export class CreateNoteDto {
  @ApiProperty({ minLength: 1, maxLength: MAX_NOTE_LENGTH })
  @IsString()
  @CharLength(1, MAX_NOTE_LENGTH)
  @Matches(/\S/, { message: 'text must not be blank' })
  text: string;
}

export interface AlertNoteView {
  id: string;
  author: string;
  text: string;
  created_at: string;
}

export interface AlertHistoryView {
  at: string;
  actor: string;
  field: 'status' | 'assignee';
  from: string | null;
  to: string | null;
}

export interface AlertDetailView extends AlertView {
  notes: AlertNoteView[];
  history: AlertHistoryView[];
}
