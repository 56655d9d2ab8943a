export * from './messages.ts';
export * from './errors.ts';
export { encode, encodeInto, decodeMessage, decodeFrames, EMPTY_BODY, PeerSink, type DecodeSink } from './codec.ts';
export * from './websocket-close.ts';
