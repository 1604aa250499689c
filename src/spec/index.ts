export * from './dataset.js';
export * from './router.js';
export * from './encoder.js';
