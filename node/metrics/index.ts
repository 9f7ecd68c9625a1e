export { createNodeMetrics, type MetricSources, type NodeMetrics, type TransportName } from './node-metrics.js';
export { LabelTally } from './label-tally.js';
