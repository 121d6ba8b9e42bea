/**
 * A minimal WebAssembly binary writer for the GBDT kernels (wasm-forest.ts, wasm-hist.ts):
 * opcodes, LEB128, sections, and an instruction buffer. Enough for straight-line numeric
 * code with loops; nothing here validates, so every emitted module is checked by
 * WebAssembly.validate in the tests.
 */


export const OP = {
  block: 0x02,
  loop: 0x03,
  end: 0x0b,
  br: 0x0c,
  brIf: 0x0d,
  select: 0x1b,
  localGet: 0x20,
  localSet: 0x21,
  localTee: 0x22,
  i32Load: 0x28,
  i32Load8U: 0x2d,
  f32Load: 0x2a,
  f64Load: 0x2b,
  f32Store: 0x38,
  f64Store: 0x39,
  i32Store: 0x36,
  i32Const: 0x41,
  f32Const: 0x43,
  i32LeS: 0x4c,
  i32LtU: 0x49,
  i32GeU: 0x4f,
  i32GtS: 0x4a,
  i32GeS: 0x4e,
  i32GtU: 0x4b,
  f32Ne: 0x5c,
  f32Gt: 0x5e,
  i32Add: 0x6a,
  i32Sub: 0x6b,
  i32Mul: 0x6c,
  i32And: 0x71,
  i32Or: 0x72,
  i32Xor: 0x73,
  i32Shl: 0x74,
  i32ShrU: 0x76,
  f64Add: 0xa0,
} as const;
export const VOID = 0x40;
export const I32 = 0x7f;
export const F32 = 0x7d;

export function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

export function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

export function name(s: string): number[] {
  return [...uleb(s.length), ...Array.from(Buffer.from(s, 'utf8'))];
}

export function section(id: number, body: number[]): number[] {
  return [id, ...uleb(body.length), ...body];
}

/** Instruction stream of one function body. */
export class Code {
  readonly b: number[] = [];
  get(i: number): this {
    this.b.push(OP.localGet, ...uleb(i));
    return this;
  }
  set(i: number): this {
    this.b.push(OP.localSet, ...uleb(i));
    return this;
  }
  tee(i: number): this {
    this.b.push(OP.localTee, ...uleb(i));
    return this;
  }
  i32(v: number): this {
    this.b.push(OP.i32Const, ...sleb(v | 0));
    return this;
  }
  f32(v: number): this {
    const bytes = new Uint8Array(new Float32Array([v]).buffer);
    this.b.push(OP.f32Const, ...bytes);
    return this;
  }
  /** A memory access with natural alignment (log2 bytes) and a constant offset. */
  mem(op: number, alignLog2: number, offset = 0): this {
    this.b.push(op, alignLog2, ...uleb(offset));
    return this;
  }
  op(...ops: number[]): this {
    this.b.push(...ops);
    return this;
  }
}
