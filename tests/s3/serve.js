// Runs s3rver for the tests and exits when standard input closes, so a test process that dies (or a test
// host that is killed) never leaves an S3 server behind. Its PUT replaces objects atomically (atomic-put.js).
// Usage: node serve.js DIRECTORY PORT
'use strict';
require('./atomic-put');
const S3rver = require('s3rver');

const [directory, port] = process.argv.slice(2);
if (!directory || !port) {
  console.error('usage: node serve.js DIRECTORY PORT');
  process.exit(2);
}

const server = new S3rver({ directory, port: Number(port), address: '127.0.0.1', silent: false, vhostBuckets: false });
server.run((err, { address, port: bound } = {}) => {
  if (err) {
    console.error(err);
    process.exit(1);
  }
  console.log(`s3rver listening on ${address}:${bound}`);
});

process.stdin.on('end', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));
process.stdin.resume();
