export { createNodeMetrics, type NodeMetrics, type TransportName } from './node-metrics.js';
