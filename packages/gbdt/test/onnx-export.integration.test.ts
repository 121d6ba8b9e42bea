import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { GbdtModel } from '../src';
import { exportOnnx } from '../src/onnx';
import { trainOnnxFixture } from './onnx-fixture';

// Integration: Debian's python3-onnx checks the exported files (onnx-export.test.ts runs them with onnxruntime-node).
const SYSTEM_PYTHON = '/usr/bin/python3';

function hasPythonOnnx(): boolean {
  try {
    execFileSync(SYSTEM_PYTHON, ['-c', 'import onnx'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('ONNX export', () => {
  let edge: GbdtModel;
  let bytes: Uint8Array;

  beforeAll(async () => {
    ({ edge, bytes } = await trainOnnxFixture());
  });

  (hasPythonOnnx() ? it : it.skip)("passes python3-onnx's checker", () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'onnx-check-'));
    try {
      const file = path.join(dir, 'model.onnx');
      writeFileSync(file, bytes);
      writeFileSync(path.join(dir, 'edge_only.onnx'), exportOnnx({ edge }));
      const out = execFileSync(SYSTEM_PYTHON, [
        '-c',
        'import onnx,sys\nfor f in sys.argv[1:]:\n  onnx.checker.check_model(onnx.load(f), full_check=True)\nprint("ok")',
        file,
        path.join(dir, 'edge_only.onnx'),
      ]).toString();
      expect(out.trim()).toBe('ok');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
