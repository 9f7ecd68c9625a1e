export { createLogger, type Logger, type NodeLogger } from './create-logger.js';
