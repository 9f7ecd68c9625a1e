export { Inflights } from './inflights.js';
export { Progress, ProgressState } from './progress.js';
export {
  ProgressTracker,
  type TrackerConfig,
  type ProgressMap,
  emptyTrackerConfig,
  cloneTrackerConfig,
  configToConfState,
} from './tracker.js';
