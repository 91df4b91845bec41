#!/usr/bin/env node
// Test-only stand-in for SeaweedFS's `weed server ... -s3` (tests/docker/standins.sh): SeaweedFS is not among Debian's
// packages and no image registry is reachable here, so the compose file's seaweedfs service runs s3rver (tests/s3's
// pinned version) with the same command line. It takes -dir, -s3.port and -s3.config (the identities file the compose
// service writes from .env), checks request signatures against those credentials alone, and answers SeaweedFS's
// /status route for the healthcheck. Every other flag is accepted and has no effect. Like SeaweedFS (and unlike s3rver
// alone) it takes aws-chunked uploads (streaming SigV4, what the AWS SDK sends over plain HTTP): the chunk framing is
// removed before s3rver stores the body, so the object holds the bytes the client sent. s3rver's list continuation
// tokens use DES, which OpenSSL 3 keeps in its legacy provider: the image sets NODE_OPTIONS=--openssl-legacy-provider
// (as ./test.sh runs s3rver).
'use strict';
const fs = require('fs');
const path = require('path');
const S3rver = require('/opt/s3rver/node_modules/s3rver');
const { Readable } = require('stream');
const { DUMMY_ACCOUNT } = require('/opt/s3rver/node_modules/s3rver/lib/models/account');

const args = process.argv.slice(2);
if (args[0] !== 'server' || !args.includes('-s3')) {
  console.error('weed (s3rver stand-in): only "weed server ... -s3 ..." is implemented');
  process.exit(2);
}
const flag = (name, fallback) => {
  const a = args.find((x) => x.startsWith(`-${name}=`));
  return a ? a.slice(name.length + 2) : fallback;
};
const dir = flag('dir', '/data');
const port = Number(flag('s3.port', '8333'));
const config = flag('s3.config', '');
// Only the identities in the config sign requests: s3rver's built-in S3RVER key pair is revoked.
DUMMY_ACCOUNT.revokeAccessKey('S3RVER');
if (config) {
  for (const identity of JSON.parse(fs.readFileSync(config, 'utf8')).identities || []) {
    for (const c of identity.credentials || []) DUMMY_ACCOUNT.createKeyPair(c.accessKey, c.secretKey);
  }
}
const directory = path.join(dir, 's3rver');
fs.mkdirSync(directory, { recursive: true });
const server = new S3rver({ directory, port, address: '0.0.0.0', silent: true, vhostBuckets: false });
server.middleware.unshift(async (ctx, next) => {
  if (ctx.path === '/status' && ctx.method === 'GET') { ctx.body = { Version: 'stand-in (s3rver)' }; return; }
  await next();
});
// aws-chunked: "<hex size>;chunk-signature=<sig>\r\n<bytes>\r\n" repeated, ending with a zero-size chunk (and optional
// trailers). The signatures are not checked again: the request's seed signature already was. Returns null when the
// framing is malformed or ends before its zero-size chunk.
function dechunk(body) {
  const parts = [];
  let at = 0;
  for (;;) {
    const eol = body.indexOf('\r\n', at);
    if (eol < 0) return null;
    const size = parseInt(body.subarray(at, eol).toString('latin1').split(';')[0], 16);
    if (!Number.isFinite(size) || size < 0) return null;
    if (size === 0) return Buffer.concat(parts);
    const from = eol + 2;
    if (from + size + 2 > body.length) return null;
    parts.push(body.subarray(from, from + size));
    at = from + size + 2;
  }
}
// Every upload is read whole before s3rver sees it, as SeaweedFS stores an object only once its body has arrived: a
// client that dies mid-upload (a node killed by the tests) leaves nothing half-written behind.
server.middleware.unshift(async (ctx, next) => {
  if (ctx.method !== 'PUT' || !(Number(ctx.req.headers['content-length']) > 0 || ctx.req.headers['transfer-encoding'])) {
    await next();
    return;
  }
  const headers = ctx.req.headers;
  const chunks = [];
  const complete = await new Promise((resolve) => {
    ctx.req.on('data', (d) => chunks.push(d));
    ctx.req.on('end', () => resolve(true));
    ctx.req.on('aborted', () => resolve(false));
    ctx.req.on('error', () => resolve(false));
  });
  let body = Buffer.concat(chunks);
  if (!complete) { ctx.status = 400; ctx.body = ''; return; }
  if ((headers['x-amz-content-sha256'] || '').startsWith('STREAMING-')) {
    body = dechunk(body);
    if (body === null) { ctx.status = 400; ctx.body = 'malformed aws-chunked body'; return; }
    const encoding = (headers['content-encoding'] || '').split(',').map((x) => x.trim()).filter((x) => x && x !== 'aws-chunked');
    if (encoding.length) headers['content-encoding'] = encoding.join(', '); else delete headers['content-encoding'];
  }
  headers['content-length'] = String(body.length);
  delete headers['transfer-encoding'];
  const whole = Readable.from([body]);
  whole.headers = headers;
  ctx.req = whole;
  await next();
});
server.run((err, addr) => {
  if (err) { console.error(err); process.exit(1); }
  console.log(`weed (s3rver stand-in): S3 API on ${addr.address}:${addr.port}, data in ${directory}`);
});
for (const s of ['SIGTERM', 'SIGINT']) process.on(s, () => server.close(() => process.exit(0)));
