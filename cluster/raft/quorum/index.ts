export { VoteResult } from './vote-result.js';
export { MajorityConfig, type AckedIndexer } from './majority.js';
export { JointConfig } from './joint.js';
export { sortSmallAscending } from './small-sort.js';
