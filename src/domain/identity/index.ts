export * from './id-number.js';
export * from './mask.js';
export * from './mobile.js';
export * from './name.js';
export * from './today.js';
export * from './valid-period.js';
export * from './validate.js';
