/** The integration-test toolkit in one import. */
export * from './cluster.ts';
export * from './environment.ts';
export * from './http.ts';
export * from './process.ts';
export * from './tmp.ts';
export * from './waiting.ts';
export * from './skip.ts';
