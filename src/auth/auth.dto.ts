import { ApiProperty } from '@nestjs/swagger';
import { IsNotEmpty, IsString, MaxLength } from 'class-validator';
import { MAX_PASSWORD_LENGTH } from '../users/password-policy';

export class LoginDto {
  @ApiProperty({ example: 'admin@aurora.local' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(100)
  username: string;

  @ApiProperty()
  @IsString()
  @IsNotEmpty()
  @MaxLength(MAX_PASSWORD_LENGTH)
  password: string;
}

export interface MeView {
  sub: string;
  role: string;
  permissions: string[];
  auth_method: 'jwt' | 'api_key';
  key_prefix?: string;
  session_id?: string;
}
