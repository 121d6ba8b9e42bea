/**
 * The part of the WebAssembly JavaScript API the prediction kernel uses. Node has it
 * natively, but @types/node (24) declares none of it and lib "dom" would bring the browser
 * globals with it.
 */
declare namespace WebAssembly {
  function validate(bytes: BufferSource): boolean;
  class Module {
    constructor(bytes: BufferSource);
  }
  class Memory {
    constructor(descriptor: { initial: number; maximum?: number; shared?: boolean });
    readonly buffer: ArrayBuffer | SharedArrayBuffer;
    grow(delta: number): number;
  }
  class Instance {
    constructor(module: Module, imports?: Record<string, Record<string, unknown>>);
    readonly exports: Record<string, unknown>;
  }
}
type BufferSource = ArrayBufferView | ArrayBuffer;
