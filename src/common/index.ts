/**
 * Shared foundations: typed errors, constants, logging, lifecycle. No I/O beyond logging.
 */
export * from './errors.js';
export * from './constants.js';
export * from './lifecycle.js';
export { at, missingIndex } from './checked.js';
export { createLogger, silentLogger, type Logger, type LogOptions } from './log.js';
export { packageVersion, packageRoot } from './version.js';
