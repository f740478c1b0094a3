import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuditModule } from '../audit/audit.module';
import { UsersModule } from '../users/users.module';
import { LiveSessions } from './live-sessions';
import { SessionMetrics } from './session-metrics';
import { Session } from './session.entity';
import { OwnSessionsController, UserSessionsController } from './sessions.controller';
import { SessionsRepository } from './sessions.repository';
import { SessionsService } from './sessions.service';

@Module({
  imports: [TypeOrmModule.forFeature([Session]), UsersModule, AuditModule],
  controllers: [OwnSessionsController, UserSessionsController],
  providers: [SessionsRepository, LiveSessions, SessionsService, SessionMetrics],
  exports: [SessionsService, LiveSessions],
})
export class SessionsModule {}
