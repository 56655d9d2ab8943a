/**
 * The request-target rules of router/src/http/request-target.ts, vector by vector (the end-to-end
 * behaviour, through a real router and bridges, is in test/security/request-target.test.ts).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isValidAuthority, normalizeTarget, parseRequestTarget } from '../../router/src/http/request-target.ts';

describe('request target normalisation', () => {
  it('leaves ordinary paths alone (the same string: no work done)', () => {
    for (const p of ['/', '/a/b', '/a/b?x=1&y=/../z', '/favicon.ico', '/a.b/c.d', '/.well-known/x', '/a/b/']) assert.equal(normalizeTarget(p), p);
  });

  it('removes dot-segments (RFC 3986 §5.2.4) and merges slashes; the query is untouched', () => {
    const cases: [string, string][] = [
      ['/a/./b', '/a/b'],
      ['/a/b/../c', '/a/c'],
      ['/a/b/..', '/a/'],
      ['/a/b/.', '/a/b/'],
      ['/a/..', '/'],
      ['//a///b//', '/a/b/'],
      ['/a/../b?c=/../d', '/b?c=/../d'],
      ['/a/.../b', '/a/.../b'],
      ['/a/..b/c', '/a/..b/c'],
    ];
    for (const [input, expected] of cases) assert.equal(normalizeTarget(input), expected, input);
  });

  it('decodes percent-encoded unreserved characters, %2e included; %2F and the rest stay as sent', () => {
    const cases: [string, string][] = [
      ['/a/%2e%2e/b', '/b'],
      ['/a/%2E/b', '/a/b'],
      ['/%70fx/%7euser', '/pfx/~user'],
      ['/a%2Fb/..%2F..%2Fc', '/a%2Fb/..%2F..%2Fc'],
      ['/a%20b/%zz/%', '/a%20b/%zz/%'],
      ['/%252e%252e/x', '/%252e%252e/x'],
    ];
    for (const [input, expected] of cases) assert.equal(normalizeTarget(input), expected, input);
  });

  it('refuses a path that climbs above the root (as nginx), however it is written', () => {
    for (const p of ['/..', '/../a', '/a/../../b', '/a/%2e%2e/%2E%2E/b', '/./../a', '//..//a']) assert.equal(normalizeTarget(p), null, p);
  });

  it('absolute-form: HTTP/1.1 only, origin-form with the authority apart; userinfo refused', () => {
    assert.deepEqual(parseRequestTarget('http://h.example:8080/a/../b?q', 'GET', true), { path: '/b?q', authority: 'h.example:8080', problem: null });
    assert.deepEqual(parseRequestTarget('HTTPS://h.example?q', 'GET', true), { path: '/?q', authority: 'h.example', problem: null });
    assert.equal(parseRequestTarget('http://u:p@h.example/', 'GET', true).problem, 'ZP_ERR_BAD_TARGET');
    assert.equal(parseRequestTarget('http:///x', 'GET', true).problem, 'ZP_ERR_BAD_TARGET');
    assert.equal(parseRequestTarget('ftp://h/x', 'GET', true).problem, 'ZP_ERR_BAD_TARGET');
    assert.equal(parseRequestTarget('http://h/x', 'GET', false).problem, 'ZP_ERR_BAD_TARGET');
    assert.equal(parseRequestTarget('*', 'OPTIONS', true).path, '*');
    assert.equal(parseRequestTarget('*', 'GET', true).problem, 'ZP_ERR_BAD_TARGET');
    assert.equal(parseRequestTarget('x/y', 'GET', true).problem, 'ZP_ERR_BAD_TARGET');
  });

  it('Host syntax: reg-name, IPv4, IP literal, optional port', () => {
    for (const h of ['a', 'a.example', 'a.example:80', '127.0.0.1:8080', '[::1]', '[::1]:443', 'xn--bcher-kva.example']) assert.ok(isValidAuthority(h), h);
    for (const h of ['', 'a b', 'a@b', 'a/b', 'a:b:c', 'a:123456', '[::1', 'a\tb', 'a?b', 'a#b']) assert.ok(!isValidAuthority(h), h);
  });
});
