/** Tests use the same namespace lab as the demo. */
export * from '../../src/lab/index.js';
