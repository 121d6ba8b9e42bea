export * from './redis';
export * from './lifecycle';
export * from './run';
export * from './scheduler';
