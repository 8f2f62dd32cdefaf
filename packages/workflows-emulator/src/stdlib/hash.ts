/**
 * The `hash` module (https://cloud.google.com/workflows/docs/reference/stdlib/hash/compute_checksum).
 * Algorithm names are matched exactly as the reference spells them (MD5, SHA1, SHA224, SHA256,
 * SHA384, SHA512); other spellings are unsupported (ValueError). No reference page for an HMAC
 * function could be found, so none is defined.
 */
import { createHash } from 'node:crypto';
import type { StdFunction } from '../run/runtime.js';
import { Bytes, raise } from '../run/values.js';
import { bytes, str } from './check.js';

const ALGORITHMS: Readonly<Record<string, string>> = {
  MD5: 'md5',
  SHA1: 'sha1',
  SHA224: 'sha224',
  SHA256: 'sha256',
  SHA384: 'sha384',
  SHA512: 'sha512',
};

export const hashFunctions: readonly StdFunction[] = [
  {
    name: 'hash.compute_checksum',
    params: ['data', 'algorithm'],
    required: 2,
    call([data, algorithm]) {
      const b = bytes('hash.compute_checksum', 'data', data);
      const name = str('hash.compute_checksum', 'algorithm', algorithm);
      const node = Object.hasOwn(ALGORITHMS, name) ? ALGORITHMS[name] : undefined;
      if (node === undefined) {
        raise(
          'ValueError',
          `hash.compute_checksum: unsupported algorithm ${JSON.stringify(name)} (supported: ${Object.keys(ALGORITHMS).join(', ')})`,
        );
      }
      return new Bytes(new Uint8Array(createHash(node).update(b.data).digest()));
    },
  },
];
