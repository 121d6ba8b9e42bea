export * from './errors';
export * from './config';
export * from './logger';
export * from './symbols';
export * from './time';
export * from './jobs';
export * from './candles';
export * from './bundle';
