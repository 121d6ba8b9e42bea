import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import type { Config } from '@engine/shared';

/** Who a worker is and what it runs on; logged at start and on every job. */
export interface WorkerIdentity {
  /** RunPod pod id when on RunPod, else the host name. */
  id: string;
  hostname: string;
  podId?: string;
  gpu: GpuInfo;
}

export interface GpuInfo {
  present: boolean;
  /** `nvidia-smi -L` lines, e.g. `GPU 0: NVIDIA H100 80GB HBM3 (UUID: …)`; empty when none or unknown. */
  devices: string[];
  /** How presence was decided. */
  via: 'nvidia-smi' | 'device-file' | 'none';
}

/**
 * Is an NVIDIA GPU usable here? `nvidia-smi -L` when it runs (names the devices); else
 * the device file `/dev/nvidia0` (a container with the device but no tools).
 */
export function detectGpu(): GpuInfo {
  try {
    const out = execFileSync('nvidia-smi', ['-L'], { timeout: 5_000, stdio: ['ignore', 'pipe', 'ignore'] }).toString();
    const devices = out.split('\n').map((l) => l.trim()).filter((l) => l.startsWith('GPU'));
    if (devices.length > 0) return { present: true, devices, via: 'nvidia-smi' };
  } catch {
    // not installed or no driver: fall through to the device file
  }
  if (existsSync('/dev/nvidia0')) return { present: true, devices: [], via: 'device-file' };
  return { present: false, devices: [], via: 'none' };
}

export function workerIdentity(config: Pick<Config, 'podId'>): WorkerIdentity {
  const host = hostname();
  return { id: config.podId ?? host, hostname: host, podId: config.podId, gpu: detectGpu() };
}
