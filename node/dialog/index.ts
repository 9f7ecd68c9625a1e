export { dialogKey, type DialogKeyParts } from './dialog-id.js';
export { DialogTracker, type DialogTrackerOptions, type ResponseObservation, type DialogChange } from './dialog-tracker.js';
export { registerDialogsActiveGauge } from './dialogs-gauge.js';
