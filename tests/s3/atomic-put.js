// Makes s3rver's PUT replace an object atomically, as S3 does. s3rver 3.7.1 truncates the object's file and streams the
// body into it, so a writer that dies mid-upload (the failover tests SIGKILL an ingest node) leaves a torn object whose
// bytes no longer match its recorded MD5 for good: every later read fails its checksum, which S3 itself never does.
// Here the body goes to a temporary file beside the object, which is renamed over it once whole and flushed; an
// aborted upload removes its temporary file and leaves the old object as it was. The metadata is still written after
// the rename (as s3rver does), so a read racing a replace can still see new bytes under the old MD5 for an instant:
// the store's torn-read retry covers that. Loaded with `node -r` by test.sh and required by serve.js.
'use strict';
const crypto = require('crypto');
const fs = require('fs-extra');
const path = require('path');
const { Transform, pipeline } = require('stream');
const FilesystemStore = require('s3rver/lib/stores/filesystem');

let uploads = 0;

FilesystemStore.prototype.putObject = async function putObjectAtomically(object) {
  const objectPath = this.getResourcePath(object.bucket, object.key, 'object');
  await fs.mkdirp(path.dirname(objectPath));
  const partial = `${objectPath}.put-${process.pid}-${++uploads}`;
  const md5Context = crypto.createHash('md5');
  let size = 0;
  try {
    if (Buffer.isBuffer(object.content)) {
      md5Context.update(object.content);
      size = object.content.length;
      await fs.writeFile(partial, object.content);
    } else {
      await new Promise((resolve, reject) => {
        const hashing = new Transform({
          transform(chunk, encoding, callback) {
            md5Context.update(chunk, encoding);
            size += chunk.length;
            callback(null, chunk);
          },
        });
        // pipeline resolves when the file stream has flushed and closed, and fails on a premature close of the body.
        pipeline(object.content, hashing, fs.createWriteStream(partial), err => (err ? reject(err) : resolve()));
      });
    }
    await fs.rename(partial, objectPath);
  } catch (err) {
    await fs.remove(partial).catch(() => {});
    throw err;
  }
  const md5 = md5Context.digest('hex');
  await this.putMetadata(object.bucket, object.key, object.metadata, md5);
  return { size, md5 };
};
