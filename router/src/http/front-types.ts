/** The request and response types of the front door's servers (HTTP/1.1 and HTTP/2), in one home. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';

export type FrontRequest = IncomingMessage | Http2ServerRequest;
export type FrontResponse = ServerResponse | Http2ServerResponse;
export type RequestListener = (req: FrontRequest, res: FrontResponse) => void;
