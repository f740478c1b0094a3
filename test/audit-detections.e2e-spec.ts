import { describeDetections } from './audit-detections.shared';

describeDetections({});
