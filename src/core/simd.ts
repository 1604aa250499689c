/**
 * A row matrix of f32 in WebAssembly memory with two SIMD kernels (4 lanes) for the hot loops of
 * the similarity routers: `dots` (every row · a query: kNN's similarity scan) and `combine`
 * (Σ_i x_i · row_i, zeros of x skipped: PCA projection of sparse hashing or dense sentence vectors).
 * Scalar JS does ~1 multiply-add a nanosecond; these do ~4–8. The module is assembled here from
 * its bytes (the text form is beside each instruction), so no toolchain or download is needed.
 * Rows are padded to a multiple of 4 floats; each matrix owns its memory.
 */

// wasm opcodes used below
const OP = {
  block: 0x02,
  loop: 0x03,
  if: 0x04,
  end: 0x0b,
  br: 0x0c,
  brIf: 0x0d,
  localGet: 0x20,
  localSet: 0x21,
  localTee: 0x22,
  f32Load: 0x2a,
  f32Store: 0x38,
  i32Const: 0x41,
  f32Const: 0x43,
  i32GeU: 0x4f,
  f32Ne: 0x5c,
  i32Add: 0x6a,
  i32Shl: 0x74,
  f32Add: 0x92,
  simd: 0xfd,
} as const;
const VOID = 0x40;
const [I32, F32, V128] = [0x7f, 0x7d, 0x7b];
const v128Load = [OP.simd, 0x00, 4, 0]; // v128.load align=16 offset=0
const v128Store = [OP.simd, 0x0b, 4, 0]; // v128.store
const v128Zero = [OP.simd, 0x0c, ...new Array<number>(16).fill(0)]; // v128.const 0
const f32x4Splat = [OP.simd, 0x13];
const f32x4Lane = (l: number): number[] => [OP.simd, 0x1f, l]; // f32x4.extract_lane l
const f32x4Add = [OP.simd, 0xe4, 0x01];
const f32x4Mul = [OP.simd, 0xe6, 0x01];
const get = (i: number): number[] => [OP.localGet, i];
const set = (i: number): number[] => [OP.localSet, i];
const i32 = (v: number): number[] => [OP.i32Const, v]; // small non-negative constants only (< 64)
/** `t += 16` for local t. */
const step16 = (t: number): number[] => [...get(t), ...i32(16), OP.i32Add, ...set(t)];
/** block { loop { if (a >= b) break; body; continue } } */
const whileLess = (a: number, b: number, body: number[]): number[] => [OP.block, VOID, OP.loop, VOID, ...get(a), ...get(b), OP.i32GeU, OP.brIf, 1, ...body, OP.br, 0, OP.end, OP.end];

// both functions: (rows, vec, out, n, rowBytes) — pointers in bytes, rowBytes = padded row length x 4
const [ROWS, VEC, OUT, N, RB] = [0, 1, 2, 3, 4];

/** dots: out[j] = rows[j] · vec for j < n. Locals: j, t, acc. */
function dotsBody(): number[] {
  const [J, T, ACC] = [5, 6, 7];
  const inner = [...get(ACC), ...get(ROWS), ...get(T), OP.i32Add, ...v128Load, ...get(VEC), ...get(T), OP.i32Add, ...v128Load, ...f32x4Mul, ...f32x4Add, ...set(ACC), ...step16(T)];
  const row = [
    ...v128Zero, ...set(ACC), ...i32(0), ...set(T),
    ...whileLess(T, RB, inner),
    ...get(OUT), ...get(J), ...i32(2), OP.i32Shl, OP.i32Add, // &out[j]
    ...get(ACC), ...f32x4Lane(0), ...get(ACC), ...f32x4Lane(1), OP.f32Add, ...get(ACC), ...f32x4Lane(2), OP.f32Add, ...get(ACC), ...f32x4Lane(3), OP.f32Add,
    OP.f32Store, 2, 0,
    ...get(ROWS), ...get(RB), OP.i32Add, ...set(ROWS), // next row
    ...get(J), ...i32(1), OP.i32Add, ...set(J),
  ];
  return [...locals([[2, I32], [1, V128]]), ...whileLess(J, N, row), OP.end];
}

/** combine: out = Σ_{i < n, vec[i] ≠ 0} vec[i] · rows[i]. Locals: i, t, vs, v. */
function combineBody(): number[] {
  const [I, T, VS, V] = [5, 6, 7, 8];
  const zero = [...get(OUT), ...get(T), OP.i32Add, ...v128Zero, ...v128Store, ...step16(T)];
  const axpy = [...get(OUT), ...get(T), OP.i32Add, ...get(OUT), ...get(T), OP.i32Add, ...v128Load, ...get(VS), ...get(ROWS), ...get(T), OP.i32Add, ...v128Load, ...f32x4Mul, ...f32x4Add, ...v128Store, ...step16(T)];
  const row = [
    ...get(VEC), ...get(I), ...i32(2), OP.i32Shl, OP.i32Add, OP.f32Load, 2, 0, OP.localTee, V,
    OP.f32Const, 0, 0, 0, 0, OP.f32Ne,
    OP.if, VOID, ...get(V), ...f32x4Splat, ...set(VS), ...i32(0), ...set(T), ...whileLess(T, RB, axpy), OP.end,
    ...get(ROWS), ...get(RB), OP.i32Add, ...set(ROWS),
    ...get(I), ...i32(1), OP.i32Add, ...set(I),
  ];
  return [...locals([[2, I32], [1, V128], [1, F32]]), ...i32(0), ...set(T), ...whileLess(T, RB, zero), ...whileLess(I, N, row), OP.end];
}

function locals(groups: Array<[number, number]>): number[] {
  return [groups.length, ...groups.flat()];
}

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];
const name = (s: string): number[] => [...uleb(s.length), ...Buffer.from(s, 'utf8')];

function moduleBytes(): Uint8Array {
  const bodies = [dotsBody(), combineBody()];
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [1, 0x60, 5, I32, I32, I32, I32, I32, 0]), // one type: (i32 x 5) -> ()
    ...section(3, [2, 0, 0]), // two functions of that type
    ...section(5, [1, 0x00, 1]), // one memory, 1 page minimum
    ...section(7, [3, ...name('memory'), 0x02, 0, ...name('dots'), 0x00, 0, ...name('combine'), 0x00, 1]),
    ...section(10, [2, ...bodies.flatMap((b) => [...uleb(b.length), ...b])]),
  ]);
}

// The WebAssembly global of Node (tsconfig's lib has no DOM types): the little used here.
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmModule {
  readonly __wasmModule?: never;
}
declare const WebAssembly: {
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule, imports: object) => { readonly exports: unknown };
};

interface Kernels {
  readonly memory: WasmMemory;
  dots(rows: number, vec: number, out: number, n: number, rowBytes: number): void;
  combine(rows: number, vec: number, out: number, n: number, rowBytes: number): void;
}

let compiled: WasmModule | null | undefined;
/** The compiled module, or null where WebAssembly SIMD is unavailable (callers then use plain JS). */
function simdModule(): WasmModule | null {
  if (compiled === undefined) {
    try {
      compiled = new WebAssembly.Module(moduleBytes());
    } catch {
      compiled = null;
    }
  }
  return compiled;
}

export function simdAvailable(): boolean {
  return simdModule() !== null;
}

const PAGE = 65536;

/** n rows of `width` floats, stored once; queries are copied in and results read from views. */
export class RowMatrix {
  readonly n: number;
  readonly width: number;
  private readonly padded: number;
  private readonly k: Kernels | null;
  private readonly rows: Float32Array;
  private readonly vecView: Float32Array;
  private readonly outView: Float32Array;
  private readonly offsets: { rows: number; vec: number; out: number };

  /** `options.simd: false` uses the plain-JS kernels (where WebAssembly SIMD is missing they are used anyway). */
  constructor(rows: Float32Array, n: number, width: number, options: { simd?: boolean } = {}) {
    this.n = n;
    this.width = width;
    this.padded = Math.ceil(width / 4) * 4;
    const mod = options.simd === false ? null : simdModule();
    const io = Math.max(this.padded, n);
    const bytes = 4 * (n * this.padded + 2 * io);
    this.offsets = { rows: 0, vec: 4 * n * this.padded, out: 4 * (n * this.padded + io) };
    if (mod) {
      const k = new WebAssembly.Instance(mod, {}).exports as unknown as Kernels;
      const need = Math.ceil(bytes / PAGE) - k.memory.buffer.byteLength / PAGE;
      if (need > 0) k.memory.grow(need);
      this.k = k;
      const buf = k.memory.buffer;
      this.rows = new Float32Array(buf, this.offsets.rows, n * this.padded);
      this.vecView = new Float32Array(buf, this.offsets.vec, io);
      this.outView = new Float32Array(buf, this.offsets.out, io);
    } else {
      this.k = null;
      this.rows = new Float32Array(n * this.padded);
      this.vecView = new Float32Array(io);
      this.outView = new Float32Array(io);
    }
    for (let j = 0; j < n; j++) this.rows.set(rows.subarray(j * width, (j + 1) * width), j * this.padded);
  }

  /** rows · q for every row (q has `width` entries); a view, valid until the next call. */
  dots(q: ArrayLike<number>): Float32Array {
    const { n, padded } = this;
    this.vecView.fill(0, 0, padded);
    this.vecView.set(q);
    if (this.k) {
      this.k.dots(this.offsets.rows, this.offsets.vec, this.offsets.out, n, 4 * padded);
    } else {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let t = 0, off = j * padded; t < padded; t++) s += (this.rows[off + t] as number) * (this.vecView[t] as number);
        this.outView[j] = s;
      }
    }
    return this.outView.subarray(0, n);
  }

  /** Σ_i x_i · row_i (x has n entries; zeros cost nothing); a view of `width` floats, valid until the next call. */
  combine(x: ArrayLike<number>): Float32Array {
    const { n, padded } = this;
    this.vecView.set(x);
    if (this.k) {
      this.k.combine(this.offsets.rows, this.offsets.vec, this.offsets.out, n, 4 * padded);
    } else {
      this.outView.fill(0, 0, padded);
      for (let i = 0; i < n; i++) {
        const v = this.vecView[i] as number;
        if (v === 0) continue;
        for (let t = 0, off = i * padded; t < padded; t++) this.outView[t] = (this.outView[t] as number) + v * (this.rows[off + t] as number);
      }
    }
    return this.outView.subarray(0, this.width);
  }
}
