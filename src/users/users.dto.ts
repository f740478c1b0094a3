import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsIn, IsNotEmpty, IsString, Length, Matches, MaxLength } from 'class-validator';
import { OptionalField } from '../common/validation';
import { ROLES, type Role } from '../access/permissions';
import { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH } from './password-policy';
import type { User } from './user.entity';

/** Printable characters only: no control characters, no leading or trailing space. */
// eslint-disable-next-line no-control-regex -- refusing control characters is the point
export const USERNAME_PATTERN = /^[^\s\u0000-\u001f\u007f-\u009f](?:[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f])?$/;

export class CreateUserDto {
  @ApiProperty({ example: 'analyst@aurora.local' })
  @IsString()
  @Length(1, 100)
  @Matches(USERNAME_PATTERN, { message: 'username must be printable characters without leading or trailing spaces' })
  username: string;

  @ApiProperty({ minLength: MIN_PASSWORD_LENGTH, maxLength: MAX_PASSWORD_LENGTH })
  @IsString()
  @Length(MIN_PASSWORD_LENGTH, MAX_PASSWORD_LENGTH)
  password: string;

  @ApiProperty({ enum: ROLES })
  @IsIn(ROLES, { message: `role must be one of ${ROLES.join(', ')}` })
  role: Role;
}

export class UpdateUserDto {
  @ApiPropertyOptional({ enum: ROLES })
  @OptionalField()
  @IsIn(ROLES, { message: `role must be one of ${ROLES.join(', ')}` })
  role?: Role;

  @ApiPropertyOptional()
  @OptionalField()
  @IsBoolean()
  disabled?: boolean;

  @ApiPropertyOptional({ minLength: MIN_PASSWORD_LENGTH, maxLength: MAX_PASSWORD_LENGTH })
  @OptionalField()
  @IsString()
  @Length(MIN_PASSWORD_LENGTH, MAX_PASSWORD_LENGTH)
  password?: string;
}

export class ChangeOwnPasswordDto {
  @ApiProperty()
  @IsString()
  @IsNotEmpty()
  @MaxLength(MAX_PASSWORD_LENGTH)
  current_password: string;

  @ApiProperty({ minLength: MIN_PASSWORD_LENGTH, maxLength: MAX_PASSWORD_LENGTH })
  @IsString()
  @Length(MIN_PASSWORD_LENGTH, MAX_PASSWORD_LENGTH)
  new_password: string;
}

export interface UserView {
  id: string;
  username: string;
  role: Role;
  disabled: boolean;
  created_at: string;
  updated_at: string;
}

/** An item of GET /users: the user and, an extension of the contract, when their sign-in lockout ends. */
export interface UserListItem extends UserView {
  /** ISO 8601: until when LOGIN_MAX_FAILURES_PER_USER failed sign-ins refuse this username; null when not locked. */
  locked_until: string | null;
}

export function toUserView(user: User): UserView {
  return {
    id: user.id,
    username: user.username,
    role: user.role,
    disabled: user.disabled,
    created_at: user.createdAt.toISOString(),
    updated_at: user.updatedAt.toISOString(),
  };
}
