import { Module } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AlertsModule } from '../alerts/alerts.module';
import { AlertsService } from '../alerts/alerts.service';
import { RedisConnection } from '../common/redis.provider';
import { EventBus } from '../database/event-bus';
import { PostgresMarks, RedisMarks } from './detection-marks';
import { MemoryWindows, RedisWindows } from './detection-windows';
import { DetectionsService } from './detections.service';

/** Detections over the audit stream; counts in Redis when REDIS_URL is set, else in memory and PostgreSQL. */
@Module({
  imports: [AlertsModule],
  providers: [
    {
      provide: DetectionsService,
      inject: [EventBus, AlertsService, RedisConnection, DataSource],
      useFactory: (bus: EventBus, alerts: AlertsService, redis: RedisConnection, dataSource: DataSource) =>
        redis.client
          ? new DetectionsService(bus, alerts, new RedisWindows(redis.client), new RedisMarks(redis.client))
          : new DetectionsService(bus, alerts, new MemoryWindows(), new PostgresMarks(dataSource)),
    },
  ],
  exports: [DetectionsService],
})
export class DetectionsModule {}
