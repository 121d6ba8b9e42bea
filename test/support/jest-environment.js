/**
 * jest's node environment with the host's typed-array constructors.
 *
 * Each test file runs in its own VM context, whose Float32Array & co. differ from the ones
 * native code and Node's own APIs create. onnxruntime-node's binding returns output tensors
 * as host Float32Arrays, and onnxruntime-common (loaded in the context) checks
 * `data instanceof Float32Array` against the context's: every inference failed. jest already
 * hands the context the host's Buffer, ArrayBuffer and Uint8Array for the same reason; this
 * does the same for the other typed arrays, so a typed array is one class whoever made it.
 */
const { TestEnvironment } = require('jest-environment-node');

const TYPED_ARRAYS = [
  'Int8Array', 'Uint8ClampedArray', 'Int16Array', 'Uint16Array', 'Int32Array', 'Uint32Array',
  'Float16Array', 'Float32Array', 'Float64Array', 'BigInt64Array', 'BigUint64Array',
];

class HostTypedArraysEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    for (const name of TYPED_ARRAYS) {
      if (typeof globalThis[name] === 'function') this.global[name] = globalThis[name];
    }
  }
}

module.exports = HostTypedArraysEnvironment;
