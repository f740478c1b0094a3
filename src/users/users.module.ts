import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuditModule } from '../audit/audit.module';
import { AdminBootstrap } from './admin-bootstrap';
import { PasswordHasher } from './password-hasher';
import { User } from './user.entity';
import { UserLifecycle } from './user-lifecycle';
import { UserLockouts } from './user-lockouts';
import { UsersController } from './users.controller';
import { UsersRepository } from './users.repository';
import { UsersService } from './users.service';

@Module({
  imports: [TypeOrmModule.forFeature([User]), AuditModule],
  controllers: [UsersController],
  providers: [UsersRepository, UsersService, UserLifecycle, UserLockouts, PasswordHasher, AdminBootstrap],
  exports: [UsersService, UsersRepository, UserLifecycle, UserLockouts, PasswordHasher],
})
export class UsersModule {}
