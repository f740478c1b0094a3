import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuditModule } from '../audit/audit.module';
import { AdminBootstrap } from './admin-bootstrap';
import { PasswordHasher } from './password-hasher';
import { User } from './user.entity';
import { UsersRepository } from './users.repository';
import { UsersService } from './users.service';

@Module({
  imports: [TypeOrmModule.forFeature([User]), AuditModule],
  providers: [UsersRepository, UsersService, PasswordHasher, AdminBootstrap],
  exports: [UsersService, PasswordHasher],
})
export class UsersModule {}
