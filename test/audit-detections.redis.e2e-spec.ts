import { describeDetections } from './audit-detections.shared';

/** The same detections with REDIS_URL: windows as Redis sorted sets, the once-per-10-minutes as SET NX PX. */
describeDetections({ REDIS_URL: process.env.TEST_REDIS_URL || 'redis://127.0.0.1:6379' });
