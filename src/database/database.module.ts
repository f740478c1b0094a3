import { Global, Injectable, Module, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AppConfig } from '../config/app-config';
import { embeddedOptions, postgresOptions } from './data-source-options';
import { EmbeddedDatabase } from './embedded-database';
import { EventBus, InProcessEventBus } from './event-bus';
import { EventBusMetrics } from './event-bus-metrics';
import { PostgresEventBus } from './postgres-event-bus';

/** Owns the embedded database (when there is no DATABASE_URL) and closes it after TypeORM. */
@Injectable()
export class EmbeddedDatabaseHolder implements OnApplicationShutdown {
  database: EmbeddedDatabase | null = null;

  constructor(private readonly moduleRef: ModuleRef) {}

  async open(config: AppConfig): Promise<this> {
    if (!config.databaseUrl) this.database = await EmbeddedDatabase.open(config.dataDir);
    return this;
  }

  async onApplicationShutdown(): Promise<void> {
    if (!this.database) return;
    const dataSource = this.moduleRef.get(DataSource, { strict: false });
    if (dataSource?.isInitialized) await dataSource.destroy();
    await this.database.close();
    this.database = null;
  }
}

@Global()
@Module({
  providers: [
    {
      provide: EmbeddedDatabaseHolder,
      inject: [AppConfig, ModuleRef],
      useFactory: (config: AppConfig, moduleRef: ModuleRef) => new EmbeddedDatabaseHolder(moduleRef).open(config),
    },
  ],
  exports: [EmbeddedDatabaseHolder],
})
class EmbeddedDatabaseModule {}

@Injectable()
class EventBusLifecycle implements OnApplicationBootstrap, OnApplicationShutdown {
  constructor(private readonly bus: EventBus) {}
  async onApplicationBootstrap(): Promise<void> {
    await this.bus.start();
  }
  async onApplicationShutdown(): Promise<void> {
    await this.bus.stop();
  }
}

@Global()
@Module({
  imports: [
    EmbeddedDatabaseModule,
    TypeOrmModule.forRootAsync({
      inject: [AppConfig, EmbeddedDatabaseHolder],
      useFactory: (config: AppConfig, holder: EmbeddedDatabaseHolder) =>
        holder.database ? embeddedOptions(holder.database) : postgresOptions(config.databaseUrl!),
    }),
  ],
  providers: [
    {
      provide: EventBus,
      inject: [AppConfig],
      useFactory: (config: AppConfig) => (config.databaseUrl ? new PostgresEventBus(config.databaseUrl) : new InProcessEventBus()),
    },
    EventBusLifecycle,
    EventBusMetrics,
  ],
  exports: [EventBus],
})
export class DatabaseModule {}
