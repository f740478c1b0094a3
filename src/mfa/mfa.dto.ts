import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsNotEmpty, IsObject, IsString, Matches, MaxLength } from 'class-validator';
import { OptionalField } from '../common/validation';

export class TotpConfirmDto {
  @ApiProperty({ example: '123456', description: 'the 6-digit code the authenticator app shows now' })
  @IsString()
  @Matches(/^\s*\d{6}\s*$/, { message: 'code must be the 6 digits the authenticator app shows' })
  code: string;
}

/** One second factor: exactly one of the three. */
export class SecondFactorDto {
  @ApiPropertyOptional({ example: '123456' })
  @OptionalField()
  @IsString()
  @MaxLength(16)
  code?: string;

  @ApiPropertyOptional({ example: 'abcd-efgh-jkmn-pqrs' })
  @OptionalField()
  @IsString()
  @MaxLength(64)
  recovery_code?: string;

  @ApiPropertyOptional({ description: 'a WebAuthn assertion (from navigator.credentials.get)' })
  @OptionalField()
  @IsObject()
  webauthn?: Record<string, unknown>;
}

export class MfaSignInDto extends SecondFactorDto {
  @ApiProperty()
  @IsString()
  @IsNotEmpty()
  @MaxLength(128)
  mfa_token: string;
}

export class MfaTokenDto {
  @ApiProperty()
  @IsString()
  @IsNotEmpty()
  @MaxLength(128)
  mfa_token: string;
}

export class WebAuthnRegisterDto {
  @ApiProperty({ example: 'YubiKey 5C' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(64)
  name: string;

  @ApiProperty({ description: 'the attestation (from navigator.credentials.create)' })
  @IsObject()
  response: Record<string, unknown>;
}

export class PasskeySignInDto {
  @ApiProperty({ description: 'the assertion (from navigator.credentials.get)' })
  @IsObject()
  response: Record<string, unknown>;
}

export interface MfaStatusView {
  totp: boolean;
  webauthn: Array<{ id: string; name: string; created_at: string; last_used_at: string | null }>;
  recovery_codes_left: number;
}

export interface TotpEnrolmentView {
  secret: string;
  otpauth_uri: string;
  qr_svg: string;
}

export interface RecoveryCodesView {
  recovery_codes: string[];
}

export interface MfaChallengeView {
  mfa_required: true;
  mfa_token: string;
  methods: Array<'totp' | 'webauthn' | 'recovery'>;
  expires_in: number;
}
