/** Typed decode errors. Every way a frame can be wrong has its own code (SPEC.md "Errors"). */

export const DecodeErrorCodes = {
  ZP_ERR_FRAME_COUNT: 'a ZeroMQ message must hold 1..maxPairsPerMessage (header, body) frame pairs',
  ZP_ERR_HEADER_TOO_LARGE: 'header frame exceeds maxHeaderBytes',
  ZP_ERR_BODY_TOO_LARGE: 'body frame exceeds maxBodyBytes',
  ZP_ERR_MSGPACK: 'header frame is not valid msgpack',
  ZP_ERR_HEADER_SHAPE: 'header is not an array of at least signature, version and type',
  ZP_ERR_SIGNATURE: 'header does not start with the "ZP" signature',
  ZP_ERR_VERSION: 'protocol version not supported',
  ZP_ERR_UNKNOWN_TYPE: 'unknown message type',
  ZP_ERR_FIELD: 'a field is missing, of the wrong type or out of range',
  ZP_ERR_UNEXPECTED_BODY: 'message type carries no body but its body frame is not empty',
} as const;

export type DecodeErrorCode = keyof typeof DecodeErrorCodes;

export class ProtocolError extends Error {
  readonly code: DecodeErrorCode;
  /** The field that failed, when one did. */
  readonly field: string | undefined;
  /** The stream the message belonged to, when it could be read (so the receiver can RST it). */
  readonly stream: number | undefined;
  /** The message type code, when it could be read. */
  readonly typeCode: number | undefined;

  constructor(
    code: DecodeErrorCode,
    detail?: string,
    extra: { field?: string; stream?: number; typeCode?: number } = {},
  ) {
    super(`${code}: ${DecodeErrorCodes[code]}${detail ? ` (${detail})` : ''}`);
    this.name = 'ProtocolError';
    this.code = code;
    this.field = extra.field;
    this.stream = extra.stream;
    this.typeCode = extra.typeCode;
  }
}
