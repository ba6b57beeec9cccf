import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isWeftError } from '../common/index.js';
import { formatHostPort, parseHostPort, parsePeerList } from './index.js';

const peer = (s: string): ReturnType<typeof parseHostPort> => parseHostPort(s, { what: 'peer' });

test('peer syntax: host, host:port, IPv4, bracketed IPv6', () => {
  assert.deepEqual(peer('10.0.0.1'), { host: '10.0.0.1' });
  assert.deepEqual(peer('10.0.0.1:6783'), { host: '10.0.0.1', port: 6783 });
  assert.deepEqual(peer('node-1.example.com:1'), { host: 'node-1.example.com', port: 1 });
  assert.deepEqual(peer('[fd00::1]:6783'), { host: 'fd00::1', port: 6783 });
  assert.deepEqual(peer('[fd00::1]'), { host: 'fd00::1' });
  assert.deepEqual(parseHostPort('127.0.0.1:0', { what: 'x', allowPortZero: true }), { host: '127.0.0.1', port: 0 });
  assert.equal(formatHostPort({ host: 'fd00::1', port: 6783 }), '[fd00::1]:6783');
  assert.equal(formatHostPort({ host: 'h' }), 'h');
});

test('bad peers give one-line messages naming the value', () => {
  const cases: [string, RegExp][] = [
    ['', /^invalid peer "": empty address$/],
    ['fd00::1', /^invalid peer "fd00::1": IPv6 addresses need brackets, e\.g\. \[fd00::1\]:6783$/],
    ['[fd00::1', /missing "\]"/],
    ['[nothex]:1', /is not an IPv6 address/],
    ['[fd00::1]6783', /expected ":port"/],
    ['h:0', /port must be an integer 1-65535/],
    ['h:65536', /port must be an integer 1-65535/],
    ['h:abc', /port must be an integer 1-65535/],
    ['h:', /port must be an integer/],
    [':6783', /empty host/],
    ['1.2.3.999', /not a valid IPv4 address/],
    ['bad_host', /not a valid host name/],
    ['-x.com', /not a valid host name/],
    ['a:b:c', /too many ":"/],
  ];
  for (const [text, re] of cases) {
    assert.throws(() => peer(text), (e: unknown) => isWeftError(e, 'WEFT_ERR_BAD_ARGS') && re.test(e.message) && !e.message.includes('\n'), text);
  }
  assert.throws(() => parseHostPort('h', { what: '--status-addr', requirePort: true }), /^WeftError: invalid --status-addr "h": missing ":port"$/);
});

test('peer lists: normalised, bad entries and too many refused', () => {
  assert.deepEqual(parsePeerList(['a', '[fd00::2]:7']), ['a', '[fd00::2]:7']);
  assert.throws(() => parsePeerList(['x::y']), (e: unknown) => isWeftError(e, 'WEFT_ERR_BAD_ARGS'));
  assert.throws(() => parsePeerList(new Array(1025).fill('a')), /too many peers/);
});
