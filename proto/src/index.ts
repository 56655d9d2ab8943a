export * from './messages.ts';
export * from './errors.ts';
export { encode, encodeInto, decodeMessage, decodeFrames, EMPTY_BODY, type DecodeSink } from './codec.ts';
