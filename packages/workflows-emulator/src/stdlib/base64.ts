/**
 * The `base64` module (https://cloud.google.com/workflows/docs/reference/stdlib/base64/encode,
 * .../base64/decode): the standard alphabet (`+` and `/`), `padding` true by default.
 *
 * decode ignores `\r` and `\n`; with padding it needs a length that is a multiple of 4 and `=`
 * only at the end, without padding it rejects `=`. Non-zero bits in the last character are
 * accepted (the reference is silent). Wrong argument types are TypeErrors (the reference lists
 * none for encode).
 */
import type { StdFunction } from '../run/runtime.js';
import { Bytes, raise } from '../run/values.js';
import { bool, bytes, str } from './check.js';

export const base64Functions: readonly StdFunction[] = [
  {
    name: 'base64.encode',
    params: ['data', 'padding'],
    required: 1,
    call([data, padding]) {
      const b = bytes('base64.encode', 'data', data);
      const pad = padding === undefined ? true : bool('base64.encode', 'padding', padding);
      const text = Buffer.from(b.data).toString('base64');
      return pad ? text : text.replace(/=+$/, '');
    },
  },
  {
    name: 'base64.decode',
    params: ['data', 'padding'],
    required: 1,
    call([data, padding]) {
      const text = str('base64.decode', 'data', data).replace(/[\r\n]/g, '');
      const pad = padding === undefined ? true : bool('base64.decode', 'padding', padding);
      const bad = /[^A-Za-z0-9+/=]/.exec(text);
      if (bad !== null)
        raise('ValueError', `base64.decode: ${JSON.stringify(bad[0])} at offset ${bad.index} is outside the Base64 alphabet`);
      if (pad) {
        if (text.length % 4 !== 0)
          raise('ValueError', `base64.decode: the input is not a multiple of 4 characters long (padding is expected)`);
        if (!/^[A-Za-z0-9+/]*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(text))
          raise('ValueError', `base64.decode: '=' padding is misplaced`);
      } else {
        if (text.includes('=')) raise('ValueError', `base64.decode: '=' is not expected when padding is false`);
        if (text.length % 4 === 1) raise('ValueError', `base64.decode: the input has a dangling character at the end`);
      }
      return new Bytes(new Uint8Array(Buffer.from(text, 'base64')));
    },
  },
];
