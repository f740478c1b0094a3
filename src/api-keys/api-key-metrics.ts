import { Injectable } from '@nestjs/common';
import { MetricsService } from '../metrics/metrics.service';
import { ApiKeyCache } from './api-key-cache';

/** The key cache's numbers, read at scrape time. */
@Injectable()
export class ApiKeyMetrics {
  constructor(metrics: MetricsService, cache: ApiKeyCache) {
    metrics.gauge('aurora_api_key_cache_entries', 'Entries in the API key cache', () => cache.size);
    metrics.counterFrom(
      'aurora_api_key_cache_lookups_total',
      'API key cache hits, misses and evictions',
      () => ({ hit: cache.hits, miss: cache.misses, eviction: cache.evictions }),
      'result',
    );
  }
}
