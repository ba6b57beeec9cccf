/** Tests use the same namespace lab as the demo. */
export * from '../../lab/index.js';
