import { existsSync } from 'node:fs';
import path from 'node:path';
import * as OrtModule from 'onnxruntime-node';
import { OnnxLoadError } from './errors';

/** onnxruntime-node, as loaded for this package. */
export const ort: typeof OrtModule = OrtModule;

/**
 * The Float32Array onnxruntime's binding creates its tensors with: input tensors are
 * allocated with it. In plain Node it is the global one; a test runner that gives each file
 * its own context must hand that context the host's typed arrays (ours does:
 * test/support/jest-environment.js), or onnxruntime-common's `instanceof` checks fail.
 */
export const OrtFloat32Array = (new ort.Tensor('float32', [0], [1]).data as Float32Array).constructor as Float32ArrayConstructor;

/** Where onnxruntime ran the model. */
export type ExecutionProvider = 'cuda' | 'cpu';

/** What `detectCuda` found, for logs and the model's `describe()`. */
export interface CudaAvailability {
  available: boolean;
  /** Why not, when not (e.g. the CUDA provider library is not installed). */
  reason?: string;
}

let cudaCache: CudaAvailability | undefined;

/**
 * Whether onnxruntime-node can use the CUDA execution provider here. The npm package
 * lists `cuda` among its backends on Linux x64 but ships the provider library only when
 * its install script fetched it (`ONNXRUNTIME_NODE_INSTALL=cuda12`), so listing is not
 * enough: the provider's shared libraries must sit beside the binding. Checking the files
 * first avoids onnxruntime printing a load failure on every CPU-only machine; the session
 * creation itself still falls back to CPU if CUDA fails at load time (no driver, no GPU).
 */
export function detectCuda(): CudaAvailability {
  if (cudaCache) return cudaCache;
  const listed = ort.listSupportedBackends().some((b) => b.name === 'cuda');
  if (!listed) {
    cudaCache = { available: false, reason: `onnxruntime-node ${ort.env.versions.common} on ${process.platform}-${process.arch} has no cuda backend` };
    return cudaCache;
  }
  const dir = path.join(path.dirname(require.resolve('onnxruntime-node/package.json')), 'bin', 'napi-v6', process.platform, process.arch);
  const needed = process.platform === 'win32'
    ? ['onnxruntime_providers_shared.dll', 'onnxruntime_providers_cuda.dll']
    : ['libonnxruntime_providers_shared.so', 'libonnxruntime_providers_cuda.so'];
  const missing = needed.filter((f) => !existsSync(path.join(dir, f)));
  cudaCache = missing.length === 0
    ? { available: true }
    : { available: false, reason: `CUDA provider library not installed (${missing.join(', ')} missing in ${dir})` };
  return cudaCache;
}

/** Options for `createOnnxSession`. */
export interface OnnxSessionOptions {
  /**
   * `auto` (default): CUDA then CPU when CUDA is available, CPU otherwise. `cpu` forces CPU.
   * `cuda` requires CUDA and fails when it cannot be used.
   */
  provider?: 'auto' | 'cpu' | 'cuda';
  /**
   * onnxruntime intra-op threads. Default 1: a live trader scores one row per candle, where
   * a thread pool's wake-up costs more than it saves and competes with the feature update.
   */
  threads?: number;
}

/** A loaded ONNX session and the provider it really runs on. */
export interface OnnxSession {
  session: OrtModule.InferenceSession;
  provider: ExecutionProvider;
  /** Why CUDA is not in use, when it was asked for or auto-detected but not used. */
  fallbackReason?: string;
}

/** The bytes as a Buffer (a Uint8Array of Node's own context), without copying. */
function ortBytes(bytes: Uint8Array): Uint8Array {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function baseOptions(threads: number, providers: ExecutionProvider[]): OrtModule.InferenceSession.SessionOptions {
  return {
    executionProviders: providers,
    graphOptimizationLevel: 'all',
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    // Warnings such as "opset may run with legacy support" go to stderr unstructured;
    // failures still surface as exceptions.
    logSeverityLevel: 3,
  };
}

/**
 * Load ONNX bytes (already hash-verified) into an onnxruntime session: CUDA then CPU when
 * CUDA is available, CPU otherwise; a CUDA failure at load time falls back to CPU and says
 * why. Throws `OnnxLoadError` naming `where` when onnxruntime cannot load the model.
 */
export async function createOnnxSession(bytes: Uint8Array, where: string, opts: OnnxSessionOptions = {}): Promise<OnnxSession> {
  const want = opts.provider ?? 'auto';
  const threads = opts.threads ?? 1;
  let fallbackReason: string | undefined;
  if (want !== 'cpu') {
    const cuda = detectCuda();
    if (cuda.available) {
      try {
        const session = await ort.InferenceSession.create(ortBytes(bytes), baseOptions(threads, ['cuda', 'cpu']));
        return { session, provider: 'cuda' };
      } catch (err) {
        fallbackReason = `CUDA session failed: ${err instanceof Error ? err.message : String(err)}`;
      }
    } else {
      fallbackReason = cuda.reason;
    }
    if (want === 'cuda') {
      throw new OnnxLoadError(`${where}: CUDA execution provider required but unavailable: ${fallbackReason}`, { provider: 'cuda' });
    }
  }
  try {
    const session = await ort.InferenceSession.create(ortBytes(bytes), baseOptions(threads, ['cpu']));
    return fallbackReason === undefined ? { session, provider: 'cpu' } : { session, provider: 'cpu', fallbackReason };
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    throw new OnnxLoadError(`${where}: onnxruntime cannot load model.onnx (${bytes.length} bytes): ${msg}`, { bytes: bytes.length }, err);
  }
}
