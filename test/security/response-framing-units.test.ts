/**
 * The pure parts of response framing (issue 11 items 1–2): the Content-Length rules of
 * forwardResponseHeaders and the codec naming the stream of a header it refuses as a whole.
 * The end-to-end behaviour is in response-framing.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeMessage, encode, ProtocolError } from '../../proto/src/index.ts';
import { forwardResponseHeaders, type ResponseFraming } from '../../router/src/core/response-headers.ts';
import { earlyHints } from '../../router/src/core/response-head.ts';

function framingOf(headers: string[]): number {
  const framing: ResponseFraming = { contentLength: -2 };
  forwardResponseHeaders(headers, 'rid', framing);
  return framing.contentLength;
}

describe('content-length from a worker', () => {
  it('one valid value is taken out of the list and reported', () => {
    const framing: ResponseFraming = { contentLength: -2 };
    const out = forwardResponseHeaders(['Content-Length', '42', 'x-a', '1'], 'rid', framing);
    assert.equal(framing.contentLength, 42);
    assert.ok(!out.includes('content-length') && !out.includes('Content-Length'));
    assert.equal(framingOf([]), -1, 'none');
    assert.equal(framingOf(['content-length', '0']), 0);
    assert.equal(framingOf(['content-length', '5', 'content-length', '5']), 5, 'identical fields fold');
    assert.equal(framingOf(['content-length', '5, 5']), 5, 'a list of one value folds');
    assert.equal(framingOf(['content-length', ' 7 ']), 7, 'optional whitespace');
  });

  it('invalid or conflicting values throw (the client gets 502)', () => {
    for (const bad of [['content-length', '5', 'content-length', '6'], ['content-length', '5, 6'], ['content-length', '-1'], ['content-length', '+1'], ['content-length', '0x10'], ['content-length', ''], ['content-length', '1e3'], ['content-length', '1234567890123456'], ['content-length', '5,']]) {
      assert.throws(() => framingOf(bad), /content-length/, JSON.stringify(bad));
    }
  });

  it('hop-by-hop, framing and Proxy-* fields are dropped', () => {
    const out = forwardResponseHeaders(['transfer-encoding', 'chunked', 'connection', 'x-n', 'x-n', '1', 'proxy-anything', 'x', 'te', 'trailers', 'trailer', 'x', 'upgrade', 'h2c', 'keep-alive', '1', 'ok', 'yes'], 'rid');
    assert.deepEqual(out, ['ok', 'yes', 'x-request-id', 'rid']);
  });
});

describe('103 Early Hints', () => {
  it('relays Link fields only, and none with CR/LF', () => {
    assert.equal(earlyHints(['link', '</a>; rel=preload', 'x-other', 'v', 'Link', '</b>; rel=preload']), '</a>; rel=preload, </b>; rel=preload');
    assert.equal(earlyHints(['link', '</a>\r\nx-injected: 1']), null);
    assert.equal(earlyHints(['x-other', 'v']), null);
  });
});

describe('a header refused as a whole still names its stream', () => {
  const errorOf = (frames: Buffer[]): ProtocolError => {
    try {
      decodeMessage(frames[0]!, frames[1]!);
    } catch (err) {
      if (err instanceof ProtocolError) return err;
      throw err;
    }
    throw new Error('decoded');
  };

  it('a RES over the header-frame limit (ZP_ERR_HEADER_TOO_LARGE)', () => {
    const e = errorOf(encode({ type: 'RES', stream: 70000, seq: 0, status: 200, headers: ['x-big', 'v'.repeat(70 * 1024)], fin: true, body: Buffer.alloc(0) }));
    assert.equal(e.code, 'ZP_ERR_HEADER_TOO_LARGE');
    assert.equal(e.stream, 70000);
    assert.equal(e.typeCode, 9);
  });

  it('a RES with more header fields than msgpack arrays may hold (ZP_ERR_MSGPACK)', () => {
    const headers = Array.from({ length: 1000 }, (_, i) => [`x-${i}`, 'v']).flat();
    const e = errorOf(encode({ type: 'RES', stream: 3, seq: 0, status: 200, headers, fin: true, body: Buffer.alloc(0) }));
    assert.equal(e.code, 'ZP_ERR_MSGPACK');
    assert.equal(e.stream, 3);
  });

  it('nothing is guessed from bytes that do not start like a stream message', () => {
    assert.equal(errorOf([Buffer.alloc(65537, 0x90), Buffer.alloc(0)]).stream, undefined);
    assert.equal(errorOf([Buffer.from([0x94, 0xa2, 0x5a, 0x50, 0x01, 0x03, 0xc1]), Buffer.alloc(0)]).stream, undefined, 'CREDIT has no stream');
  });
});
