import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { formatAddress, parseAddress, resolveBind, type Address } from '../../src/address.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ldsup-address-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('parseAddress: the forms gunicorn accepts (test_util.py parse_address table)', () => {
  test.each<[string, Address]>([
    ['localhost', { kind: 'tcp', host: 'localhost', port: 8000 }],
    ['127.0.0.1:9000', { kind: 'tcp', host: '127.0.0.1', port: 9000 }],
    ['  127.0.0.1:9000  ', { kind: 'tcp', host: '127.0.0.1', port: 9000 }],
    [':9000', { kind: 'tcp', host: '0.0.0.0', port: 9000 }],
    ['', { kind: 'tcp', host: '0.0.0.0', port: 8000 }],
    ['[::1]:8001', { kind: 'tcp', host: '::1', port: 8001 }],
    ['[::1]', { kind: 'tcp', host: '::1', port: 8000 }],
    ['[fe80::1%eth0]:80', { kind: 'tcp', host: 'fe80::1%eth0', port: 80 }],
    ['tcp://localhost', { kind: 'tcp', host: 'localhost', port: 8000 }],
    ['tcp://0.0.0.0:5000', { kind: 'tcp', host: '0.0.0.0', port: 5000 }],
    ['127.0.0.1:0', { kind: 'tcp', host: '127.0.0.1', port: 0 }],
    ['127.0.0.1:65535', { kind: 'tcp', host: '127.0.0.1', port: 65535 }],
    ['fd://33', { kind: 'fd', fd: 33 }],
    [`unix:${tmp}/a.sock`, { kind: 'unix', path: `${tmp}/a.sock` }],
    [`unix://${tmp}/b.sock`, { kind: 'unix', path: `${tmp}/b.sock` }],
  ])('%j', (raw, expected) => {
    expect(parseAddress(raw)).toEqual(expected);
  });

  it('resolves a relative unix path against the cwd, or the directory given (unix://var/run/x.sock is relative, as in gunicorn)', () => {
    expect(parseAddress('unix://rel.sock')).toEqual({ kind: 'unix', path: path.resolve('rel.sock') });
    expect(parseAddress('unix:rel.sock')).toEqual({ kind: 'unix', path: path.resolve('rel.sock') });
    expect(parseAddress('unix:run/rel.sock', '/srv')).toEqual({ kind: 'unix', path: '/srv/run/rel.sock' });
    expect(parseAddress(`unix:${tmp}/a.sock`, '/srv')).toEqual({ kind: 'unix', path: `${tmp}/a.sock` });
  });
});

describe('resolveBind: where the master binds, under chdir', () => {
  it('makes a relative unix path absolute under chdir; other forms stay as given', () => {
    fs.mkdirSync(path.join(tmp, 'srv', 'run'), { recursive: true });
    expect(resolveBind('unix:run/x.sock', path.join(tmp, 'srv'))).toBe(`unix:${tmp}/srv/run/x.sock`);
    expect(resolveBind(`unix://${tmp}/x.sock`, '/nowhere')).toBe(`unix:${tmp}/x.sock`);
    expect(resolveBind('127.0.0.1:9000', '/nowhere')).toBe('127.0.0.1:9000');
    expect(resolveBind('fd://3', '/nowhere')).toBe('fd://3');
  });

  it("refuses a socket whose directory does not exist (under chdir, not the cwd)", () => {
    expect(() => resolveBind('unix:/no/such/dir/x.sock', tmp)).toThrow(/^directory \/no\/such\/dir does not exist$/);
    fs.mkdirSync(path.join(tmp, 'elsewhere'));
    expect(() => resolveBind('unix:srv/x.sock', path.join(tmp, 'elsewhere'))).toThrow(`directory ${tmp}/elsewhere/srv does not exist`);
  });
});

describe('parseAddress: bad input says what is wrong', () => {
  test.each<[string, RegExp]>([
    ['127.0.0.1:abc', /^'abc' is not a valid port number$/],
    ['127.0.0.1:', /^'' is not a valid port number$/],
    ['127.0.0.1:-1', /^'-1' is not a valid port number$/],
    ['127.0.0.1:70000', /^port 70000 is out of range \(0-65535\)$/],
    ['[::1]:99999', /^port 99999 is out of range/],
    ['host:8000:extra', /^too many ':' for HOST:PORT \(IPv6 addresses go in brackets: \[::1\]:8000\)$/],
    ['::1', /too many ':'.*\[::1\]:8000/],
    ['[::1:8000', /^missing '\]' after the IPv6 address$/],
    ['[::1]8000', /^expected ':PORT' after '\]', found '8000'$/],
    ['[localhost]:80', /^'localhost' is not an IPv6 address$/],
    ['fd://x', /^'x' is not a valid file descriptor$/],
    ['fd://', /^'' is not a valid file descriptor$/],
    ['unix:', /^no socket path after 'unix:'$/],
    ['http://127.0.0.1:80', /^unsupported scheme 'http:\/\/'/],
    ['bad host:80', /^'bad host' is not a valid host$/],
  ])('%j', (raw, message) => {
    expect(() => parseAddress(raw)).toThrow(message);
  });
});

describe('formatAddress: as in "Listening at:"', () => {
  test.each<[Address, string]>([
    [{ kind: 'tcp', host: '127.0.0.1', port: 8000 }, 'http://127.0.0.1:8000'],
    [{ kind: 'tcp', host: '::1', port: 8000 }, 'http://[::1]:8000'],
    [{ kind: 'unix', path: '/tmp/x.sock' }, 'unix:/tmp/x.sock'],
    [{ kind: 'fd', fd: 3 }, 'fd://3'],
  ])('%j → %s', (a, text) => {
    expect(formatAddress(a)).toBe(text);
  });
});
