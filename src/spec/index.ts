export * from './dataset.js';
export * from './router.js';
