import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module';
import { UsersController } from './users.controller';
import { UsersModule } from './users.module';

/** The users REST API; separate from UsersModule because it needs AuthModule, which needs UsersModule. */
@Module({ imports: [UsersModule, AuthModule], controllers: [UsersController] })
export class UsersApiModule {}
