import { spawnSync } from 'node:child_process';
import { closeSync, constants, mkdirSync, mkdtempSync, openSync, readFileSync, renameSync, rmSync, symlinkSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DropboxFiles, FolderFiles, UnsafeFileError } from '@engine/publish';
import { ModelFetchError, ModelRefusedError, ModelWatcher, UnsafeModelFileError, openModel, readSourceFile, resolveSource, type LiveModel, type PollOutcome } from '@engine/consumer';
import type { LatestPointer, ModelBundle } from '@engine/model';
import { startFakeDropbox } from './fakes/fake-dropbox';
import { FIXTURE_GUARDS, SYN, alterManifest, modelIdFor, publish, tempPublishFolder, trainPlanted, type TrainedFixture } from '../packages/consumer/test/support/bundles';

/**
 * What a live trader reads from a publish folder is only ever a regular file inside that
 * folder, no larger than `latest.json` declares: a symlinked file, pointer or folder, a
 * device, a FIFO, a path that leaves the folder, or a file larger than declared is refused
 * with a `ModelRefusedError` (`UnsafeModelFileError`) — quickly, with bounded memory, and
 * without stalling the watcher, which keeps serving the current model and reports `refused`.
 * Real files in temporary folders throughout.
 */
let a: TrainedFixture;
let b: TrainedFixture;
const cleanups: (() => void | Promise<void>)[] = [];
const opened: LiveModel[] = [];
const POINTER = '/Runpodhuracan/latest/SYN-USDT.json';

beforeAll(async () => {
  a = await trainPlanted({ seed: 11, runDate: '2026-01-11' });
  b = await trainPlanted({ seed: 12, runDate: '2026-01-12' });
}, 180_000);

afterAll(async () => {
  for (const m of opened) await m.close();
  for (const c of cleanups.reverse()) await c();
});

interface Published {
  dir: string;
  pointer: LatestPointer;
  /** Local path of a published remote path. */
  local: (remote: string) => string;
  /** Local path of the file the pointer names for a bundle file. */
  fileOf: (name: string) => string;
}

async function published(bundle: ModelBundle = a.bundle): Promise<Published> {
  const f = tempPublishFolder();
  cleanups.push(f.cleanup);
  const pointer = await publish(f.files, bundle);
  const local = (remote: string): string => path.join(f.dir, ...remote.split('/').filter((p) => p !== ''));
  return { dir: f.dir, pointer, local, fileOf: (name) => local(pointer.files[name]!.path) };
}

/** A folder outside the publish folder. */
function elsewhere(): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'engine-consumer-elsewhere-'));
  cleanups.push(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

function writePointer(p: Published, change: (pointer: LatestPointer) => void): void {
  const next = structuredClone(p.pointer);
  change(next);
  writeFileSync(p.local(POINTER), JSON.stringify(next));
}

/** A FIFO at `file`. Cleanup opens it for writing once, so a reader stuck on it (the old code) gets EOF. */
function fifoAt(file: string): void {
  unlinkSync(file);
  const r = spawnSync('mkfifo', [file]);
  if (r.status !== 0) throw new Error(`mkfifo ${file}: ${r.stderr.toString()}`);
  cleanups.push(() => {
    try {
      closeSync(openSync(file, constants.O_WRONLY | constants.O_NONBLOCK));
    } catch {
      // no reader waiting: nothing to release
    }
  });
}

/** How an open ended, and how long it took; a hang counts as `timedOut` after `ms`. */
async function openWithin(dir: string, ms: number): Promise<{ error: unknown; elapsedMs: number; timedOut: boolean }> {
  const t0 = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<'hang'>((resolve) => {
    timer = setTimeout(() => resolve('hang'), ms);
  });
  const attempt = openModel({ ...FIXTURE_GUARDS, symbol: SYN, source: { kind: 'folder', dir } }).then(
    (m) => {
      opened.push(m);
      return { error: null as unknown };
    },
    (error: unknown) => ({ error }),
  );
  const r = await Promise.race([attempt, hang]);
  clearTimeout(timer);
  return { error: r === 'hang' ? null : r.error, elapsedMs: performance.now() - t0, timedOut: r === 'hang' };
}

/** The refusal every unsafe file gets: a ModelRefusedError of its own class, saying why. */
function expectUnsafe(err: unknown, reason: string): UnsafeModelFileError {
  expect(err).toBeInstanceOf(ModelRefusedError);
  expect(err).toBeInstanceOf(UnsafeModelFileError);
  const e = err as UnsafeModelFileError;
  expect(e.reason).toBe(reason);
  expect({ name: e.name, code: e.code, reason: e.details.reason }).toEqual({ name: 'UnsafeModelFileError', code: 'UNSAFE_MODEL_FILE', reason });
  expect(e.permanent).toBe(true);
  return e;
}

test('a symlinked model file is refused, even when its bytes are the right ones', async () => {
  const p = await published();
  const onnx = p.fileOf('model.onnx');
  const copy = path.join(elsewhere(), 'model.onnx');
  writeFileSync(copy, readFileSync(onnx));
  unlinkSync(onnx);
  symlinkSync(copy, onnx);
  const r = await openWithin(p.dir, 10_000);
  const e = expectUnsafe(r.error, 'symlink');
  expect(e.message).toContain(p.pointer.files['model.onnx']!.path);
  expect(e.message).toMatch(/expected a regular file, found a symbolic link/);
});

test('a symlinked latest.json is refused', async () => {
  const p = await published();
  const ptr = p.local(POINTER);
  const copy = path.join(elsewhere(), 'SYN-USDT.json');
  writeFileSync(copy, readFileSync(ptr));
  unlinkSync(ptr);
  symlinkSync(copy, ptr);
  const e = expectUnsafe((await openWithin(p.dir, 10_000)).error, 'symlink');
  expect(e.message).toContain(POINTER);
});

test('a symlinked folder on the way to a model file is refused, naming the folder', async () => {
  const p = await published();
  const day = p.local('/Runpodhuracan/2026-01-11');
  const moved = path.join(elsewhere(), '2026-01-11');
  renameSync(day, moved);
  symlinkSync(moved, day);
  const e = expectUnsafe((await openWithin(p.dir, 10_000)).error, 'symlink');
  expect(e.message).toMatch(/\/Runpodhuracan\/2026-01-11\b/);
  expect(e.message).toMatch(/expected a folder, found a symbolic link/);
});

test('a symlink to /dev/zero is refused at once, with bounded memory', async () => {
  const p = await published();
  const onnx = p.fileOf('model.onnx');
  unlinkSync(onnx);
  symlinkSync('/dev/zero', onnx);
  const rss0 = process.memoryUsage().rss;
  const r = await openWithin(p.dir, 5_000);
  const grew = process.memoryUsage().rss - rss0;
  expect(r.timedOut).toBe(false);
  expectUnsafe(r.error, 'symlink');
  expect(r.elapsedMs).toBeLessThan(5_000);
  expect(grew).toBeLessThan(256 * 1024 * 1024);
});

test('a FIFO in place of model.onnx is refused within seconds instead of hanging', async () => {
  const p = await published();
  fifoAt(p.fileOf('model.onnx'));
  const r = await openWithin(p.dir, 5_000);
  expect(r.timedOut).toBe(false);
  const e = expectUnsafe(r.error, 'not_regular_file');
  expect(e.message).toMatch(/expected a regular file, found a FIFO/);
});

test('a file larger than latest.json declares is refused by its size (same hash, smaller declared size)', async () => {
  const p = await published();
  const declared = p.pointer.files['model.onnx']!.bytes;
  writePointer(p, (ptr) => {
    ptr.files['model.onnx']!.bytes = declared - 100;
  });
  const e = expectUnsafe((await openWithin(p.dir, 10_000)).error, 'too_large');
  expect(e.message).toMatch(new RegExp(`expected at most ${declared - 100} bytes \\(latest\\.json\\), found ${declared}`));
});

test('a huge file in place of a small one is refused before it is read', async () => {
  const p = await published();
  const golden = p.fileOf('golden.json');
  truncateSync(golden, 2 * 1024 * 1024 * 1024); // 2 GiB, sparse: cheap on disk, costly to read
  const rss0 = process.memoryUsage().rss;
  const r = await openWithin(p.dir, 5_000);
  expect(r.timedOut).toBe(false);
  expectUnsafe(r.error, 'too_large');
  expect(process.memoryUsage().rss - rss0).toBeLessThan(256 * 1024 * 1024);
});

test('a file shorter than latest.json declares is refused by its size', async () => {
  const p = await published();
  writePointer(p, (ptr) => {
    ptr.files['golden.json']!.bytes += 1;
  });
  const e = expectUnsafe((await openWithin(p.dir, 10_000)).error, 'size_mismatch');
  expect(e.message).toMatch(/golden\.json/);
});

test.each([
  ['a .. segment', '/Runpodhuracan/../outside/model.onnx'],
  ['a .. segment that comes back inside', '/Runpodhuracan/2026-01-11/../2026-01-11/models/SYN-USDT_model.onnx'],
  ['a path outside the publish root', '/etc/hostname'],
  ['a relative path', 'Runpodhuracan/2026-01-11/models/SYN-USDT_model.onnx'],
  ['a NUL byte', '/Runpodhuracan/2026-01-11/models/SYN-USDT_model.onnx\u0000.txt'],
])('latest.json naming %s is refused before anything is read', async (_what, bad) => {
  const p = await published();
  writePointer(p, (ptr) => {
    ptr.files['model.onnx']!.path = bad;
  });
  const e = expectUnsafe((await openWithin(p.dir, 10_000)).error, 'outside_root');
  expect(e.message).toContain(JSON.stringify(bad));
  expect(e.message).toMatch(/expected a path under \/Runpodhuracan\//);
});

test('Dropbox: a file larger than latest.json declares is refused', async () => {
  const dbx = await startFakeDropbox();
  cleanups.push(() => dbx.close());
  const opts = { appKey: dbx.appKey, appSecret: dbx.appSecret, refreshToken: dbx.refreshToken, apiUrl: dbx.url };
  const files = new DropboxFiles(opts);
  const pointer = await publish(files, a.bundle);
  const next = structuredClone(pointer);
  next.files['model.onnx']!.bytes -= 1;
  await files.upload(POINTER, Buffer.from(JSON.stringify(next)));
  const err = await openModel({ ...FIXTURE_GUARDS, symbol: SYN, source: { kind: 'dropbox', config: opts } }).then(
    (m) => {
      opened.push(m);
      return null;
    },
    (e: unknown) => e,
  );
  const e = expectUnsafe(err, 'too_large');
  expect(e.message).toContain(pointer.files['model.onnx']!.path);
  // Refused by DropboxFiles from Dropbox's metadata, before the body was buffered.
  expect(e.cause).toBeInstanceOf(UnsafeFileError);
});

test('a folder read that does not finish within readTimeoutMs is a transient fetch failure, not a hang', async () => {
  const dir = elsewhere();
  const big = path.join(dir, 'Runpodhuracan', 'big.bin');
  mkdirSync(path.dirname(big));
  writeFileSync(big, '');
  truncateSync(big, 512 * 1024 * 1024); // sparse: reading it takes far longer than 20 ms
  const source = resolveSource({ kind: 'folder', dir, readTimeoutMs: 20 });
  const t0 = performance.now();
  const err = await readSourceFile(source, '/Runpodhuracan/big.bin', { maxBytes: 1024 * 1024 * 1024, declaredBy: 'test' }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ModelFetchError);
  expect((err as ModelFetchError).permanent).toBe(false);
  expect((err as Error).message).toMatch(/expected the read to finish within 20 ms/);
  expect(performance.now() - t0).toBeLessThan(2_000);
});

describe('the watcher', () => {
  /** A new model (own id and run date) of fixture b, so A's files stay as they were. */
  const newModel = (label: string, runDate: string): ModelBundle =>
    alterManifest(b.bundle, (m) => {
      m.model_id = modelIdFor(label);
      m.run_date = runDate;
    });

  async function watching(): Promise<{ p: Published; watcher: ModelWatcher; events: string[] }> {
    const p = await published(a.bundle);
    const events: string[] = [];
    const watcher = new ModelWatcher({ ...FIXTURE_GUARDS, symbol: SYN, source: { kind: 'folder', dir: p.dir }, intervalMs: 3_600_000, onEvent: (event, ..._payload) => events.push(event) });
    cleanups.push(() => watcher.stop());
    expect((await watcher.start()).modelId).toBe(a.bundle.manifest.model_id);
    return { p, watcher, events };
  }

  async function pollWithin(watcher: ModelWatcher, ms: number): Promise<PollOutcome | 'hang'> {
    let timer: NodeJS.Timeout | undefined;
    const hang = new Promise<'hang'>((resolve) => {
      timer = setTimeout(() => resolve('hang'), ms);
    });
    const r = await Promise.race([watcher.poll(), hang]);
    clearTimeout(timer);
    return r;
  }

  test('a FIFO in a new model is refused within seconds; the current model stays and later updates still arrive', async () => {
    const { p, watcher, events } = await watching();
    const files = new FolderFiles(p.dir);
    const broken = newModel('fifo', '2026-01-13');
    const ptr = await publish(files, broken);
    fifoAt(p.local(ptr.files['model.onnx']!.path));
    const outcome = await pollWithin(watcher, 5_000);
    expect(outcome).not.toBe('hang');
    expect((outcome as PollOutcome).kind).toBe('refused');
    expectUnsafe((outcome as Extract<PollOutcome, { kind: 'refused' }>).error, 'not_regular_file');
    expect(watcher.current()!.modelId).toBe(a.bundle.manifest.model_id);
    expect(events).toEqual(['swapped', 'refused']);
    // The watcher is not stuck: the next good model swaps in.
    const good = newModel('after the fifo', '2026-01-14');
    await publish(files, good);
    const next = await pollWithin(watcher, 20_000);
    expect(next).toEqual({ kind: 'swapped', previous: a.bundle.manifest.model_id, modelId: good.manifest.model_id });
  });

  test('a .. in latest.json is a refusal (not a fetch failure): reported as refused, not fetched again', async () => {
    const { p, watcher, events } = await watching();
    const bad = structuredClone(p.pointer);
    bad.model_id = modelIdFor('dot-dot');
    bad.files['model.onnx']!.path = '/Runpodhuracan/../../etc/model.onnx';
    writeFileSync(p.local(POINTER), JSON.stringify(bad));
    const outcome = await watcher.poll();
    expect(outcome.kind).toBe('refused');
    expectUnsafe((outcome as Extract<PollOutcome, { kind: 'refused' }>).error, 'outside_root');
    expect(events).toEqual(['swapped', 'refused']);
    expect(watcher.current()!.modelId).toBe(a.bundle.manifest.model_id);
    expect((await watcher.poll()).kind).toBe('unchanged');
  });
});

test('a folder source whose publish root folder is a symlink is fine when it is the configured folder itself', async () => {
  // The configured folder may live anywhere (e.g. a symlinked Dropbox sync folder); only
  // what is below it must be real folders and files.
  const p = await published();
  const link = path.join(elsewhere(), 'publish-link');
  symlinkSync(p.dir, link);
  const r = await openWithin(link, 30_000);
  expect(r.error).toBeNull();
});
