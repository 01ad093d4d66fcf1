/**
 * Reading an untrusted zip archive from a file: the central directory through
 * unzipper's `Open.file` (never the whole archive in memory), header-level
 * refusals (traversal, symlinks, duplicates, counts, sizes, ratios), and
 * bounded, checked decompression of single entries.
 */
import { open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { Readable, Transform, Writable } from 'node:stream';
import type { TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import unzipper from 'unzipper';
import type { File as UnzipperFile, CentralDirectory } from 'unzipper';
import { InvalidError, TooLargeError, isAppError } from '../lib/errors.ts';
import type { FieldIssue } from '../lib/errors.ts';
import { entryNameProblem, parentDirs } from './entry-names.ts';
import type { BundleLimits } from './limits.ts';
import { RATIO_CHECK_MIN_BYTES, checkLimits, formatBytes, howToRaise } from './limits.ts';

/** One entry of the central directory, as far as we use it. */
export interface ZipEntry {
  /** Entry name, `/`-separated; directories end with `/`. */
  name: string;
  isDirectory: boolean;
  compressedSize: number;
  /** Declared decompressed size (a hostile archive may lie; reads enforce it). */
  uncompressedSize: number;
  /** 0 = stored, 8 = deflate. */
  method: number;
  crc32: number;
  /** Unix mode from the external attributes (0 when the creator set none). */
  unixMode: number;
  localHeaderOffset: number;
  /** The raw name bytes, compared with the local header's copy. */
  nameBytes: Buffer;
}

const EOCD_SIGNATURE = 0x06054b50;
const ZIP64_LOCATOR_SIGNATURE = 0x07064b50;
const ZIP64_EOCD_SIGNATURE = 0x06064b50;
const LOCAL_HEADER_SIGNATURE = 0x04034b50;
const CENTRAL_HEADER_SIGNATURE = 0x02014b50;
const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;

interface EndOfCentralDirectory {
  /** Offset of the (non-zip64) end-of-central-directory record. */
  offset: number;
  entryCount: number;
  centralDirectoryOffset: number;
}

function corrupt(detail: string): InvalidError {
  return new InvalidError(`the bundle is not a valid zip archive: ${detail}; re-create it with \`h2o bundle\``, [{ path: 'bundle', message: detail }]);
}

async function readAt(handle: FileHandle, position: number, length: number): Promise<Buffer> {
  const buf = Buffer.alloc(length);
  const { bytesRead } = await handle.read(buf, 0, length, position);
  if (bytesRead !== length) throw corrupt(`unexpected end of file at offset ${position}`);
  return buf;
}

function safeNumber(v: bigint, what: string): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw corrupt(`${what} is out of range`);
  return Number(v);
}

/**
 * Finds the end-of-central-directory record ourselves, so the entry count is
 * checked before unzipper materializes one object per declared entry.
 */
async function readEndOfCentralDirectory(handle: FileHandle, size: number): Promise<EndOfCentralDirectory> {
  if (size < 22) throw corrupt('the file is too short to be a zip archive');
  const tailLength = Math.min(size, 22 + 0xffff);
  const tailStart = size - tailLength;
  const tail = await readAt(handle, tailStart, tailLength);
  let at = -1;
  for (let i = tail.length - 22; i >= 0; i--) {
    if (tail.readUInt32LE(i) === EOCD_SIGNATURE && i + 22 + tail.readUInt16LE(i + 20) <= tail.length) {
      at = i;
      break;
    }
  }
  if (at < 0) throw corrupt('no end-of-central-directory record (is this a zip file?)');
  const disk = tail.readUInt16LE(at + 4);
  const cdDisk = tail.readUInt16LE(at + 6);
  let entryCount = tail.readUInt16LE(at + 10);
  let centralDirectoryOffset = tail.readUInt32LE(at + 16);
  const offset = tailStart + at;
  if (entryCount === 0xffff || centralDirectoryOffset === 0xffffffff || tail.readUInt32LE(at + 12) === 0xffffffff) {
    if (offset < 20) throw corrupt('zip64 locator missing');
    const locator = await readAt(handle, offset - 20, 20);
    if (locator.readUInt32LE(0) !== ZIP64_LOCATOR_SIGNATURE) throw corrupt('zip64 locator missing');
    const recordOffset = safeNumber(locator.readBigUInt64LE(8), 'zip64 record offset');
    if (recordOffset + 56 > offset) throw corrupt('zip64 record offset is out of range');
    const record = await readAt(handle, recordOffset, 56);
    if (record.readUInt32LE(0) !== ZIP64_EOCD_SIGNATURE) throw corrupt('zip64 end-of-central-directory record missing');
    entryCount = safeNumber(record.readBigUInt64LE(32), 'entry count');
    centralDirectoryOffset = safeNumber(record.readBigUInt64LE(48), 'central directory offset');
  } else if (disk !== 0 || cdDisk !== 0) {
    throw corrupt('multi-disk (split) archives are not supported');
  }
  if (centralDirectoryOffset > offset) throw corrupt('central directory offset is out of range');
  return { offset, entryCount, centralDirectoryOffset };
}

// unzipper's typings omit Open.file's options argument; tailSize makes it find the record we found.
const openFile = unzipper.Open.file as unknown as (path: string, options: { tailSize: number }) => Promise<CentralDirectory>;

function toEntry(f: UnzipperFile): ZipEntry {
  return {
    name: f.path,
    isDirectory: f.path.endsWith('/'),
    compressedSize: f.compressedSize,
    uncompressedSize: f.uncompressedSize,
    method: f.compressionMethod,
    crc32: f.crc32 >>> 0,
    unixMode: f.externalFileAttributes >>> 16,
    localHeaderOffset: f.offsetToLocalFileHeader,
    nameBytes: f.pathBuffer,
  };
}

/** Header-level structural problems, all of them, one issue per entry and problem. */
function structuralIssues(files: UnzipperFile[], entries: ZipEntry[], centralDirectoryOffset: number): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const seen = new Set<string>();
  const dirs = new Set<string>();
  for (const e of entries) {
    if (e.isDirectory) dirs.add(e.name.slice(0, -1));
    for (const d of parentDirs(e.name)) dirs.add(d);
  }
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    const f = files[i]!;
    const path = e.name || `entry #${i}`;
    const nameProblem = entryNameProblem(e.name);
    if (nameProblem) issues.push({ path, message: nameProblem });
    if (seen.has(e.name)) issues.push({ path, message: 'appears more than once in the archive; each entry name must be unique' });
    seen.add(e.name);
    if (!e.isDirectory && dirs.has(e.name)) issues.push({ path, message: 'is both a file and a directory in the archive' });
    const type = e.unixMode & S_IFMT;
    if (type === S_IFLNK) issues.push({ path, message: 'is a symbolic link; bundles may not contain symlinks (replace it with a copy of the file)' });
    else if (type !== 0 && type !== S_IFREG && type !== S_IFDIR) issues.push({ path, message: `is a special file (mode ${type.toString(8)}); bundles may contain only regular files and directories` });
    else if (type === S_IFDIR && !e.isDirectory) issues.push({ path, message: "is marked as a directory but its name does not end with '/'" });
    if (f.flags & 0x1) issues.push({ path, message: 'is encrypted; bundles must not be password-protected' });
    if (e.method !== 0 && e.method !== 8) issues.push({ path, message: `uses compression method ${e.method}; only store (0) and deflate (8) are supported` });
    if (e.method === 0 && e.compressedSize !== e.uncompressedSize) issues.push({ path, message: 'is stored uncompressed but its declared sizes differ; the archive is corrupt' });
    if (e.isDirectory && e.uncompressedSize !== 0) issues.push({ path, message: 'is a directory entry that carries data' });
  }
  // Overlapping entries (the "overlapping files" zip bomb) or data running into the central directory.
  // The local header is at least 30 bytes plus the name, which must equal the central directory's.
  const byOffset = [...entries].sort((a, b) => a.localHeaderOffset - b.localHeaderOffset);
  for (let i = 0; i < byOffset.length; i++) {
    const e = byOffset[i]!;
    const end = e.localHeaderOffset + 30 + e.nameBytes.length + e.compressedSize;
    const next = byOffset[i + 1];
    if (next && end > next.localHeaderOffset) {
      issues.push({ path: next.name, message: `starts inside the data of ${e.name} (overlapping entries); the archive is corrupt or crafted` });
    } else if (!next && end > centralDirectoryOffset) {
      issues.push({ path: e.name, message: 'runs into the central directory; the archive is corrupt or crafted' });
    }
  }
  return issues;
}

/** General purpose flag bits the two headers must agree on. */
const FLAG_ENCRYPTED = 0x1;
const FLAG_DATA_DESCRIPTOR = 0x8;
const FLAG_STRONG_ENCRYPTION = 0x40;
const FLAG_UTF8 = 0x800;
/** Issues listed one by one before the rest are summed up. */
const MAX_LOCAL_HEADER_ISSUES = 20;

const FIX_LOCAL_HEADER = 're-create the archive with a standard zip tool (or `h2o bundle`)';

/** The local header's copy of the sizes, from its zip64 extra field where they are 0xffffffff. */
function localSizes(header: Buffer, extra: Buffer): { compressed: number; uncompressed: number } | string {
  let compressed = header.readUInt32LE(18);
  let uncompressed = header.readUInt32LE(22);
  if (compressed !== 0xffffffff && uncompressed !== 0xffffffff) return { compressed, uncompressed };
  for (let at = 0; at + 4 <= extra.length; ) {
    const id = extra.readUInt16LE(at);
    const size = extra.readUInt16LE(at + 2);
    if (at + 4 + size > extra.length) break;
    if (id === 0x0001) {
      // In a local header the zip64 field holds both sizes, uncompressed first.
      if (size < 16) return 'has a zip64 extra field too short to hold both sizes';
      uncompressed = safeNumber(extra.readBigUInt64LE(at + 4), 'zip64 uncompressed size');
      compressed = safeNumber(extra.readBigUInt64LE(at + 12), 'zip64 compressed size');
      return { compressed, uncompressed };
    }
    at += 4 + size;
  }
  return 'declares zip64 sizes (0xffffffff) but has no zip64 extra field holding them';
}

/**
 * What is wrong with entry `e`'s local header, compared with its central
 * directory record: tools that read the local headers (streaming unzippers,
 * the launcher's extraction) would otherwise see a different archive from
 * the one the import checked. Sizes and CRC-32 may be zero in the local
 * header of an entry whose data descriptor (flag bit 3) carries them.
 */
function localHeaderProblems(e: ZipEntry, centralFlags: number, header: Buffer, localName: Buffer, extra: Buffer): string[] {
  const out: string[] = [];
  if (!localName.equals(e.nameBytes)) {
    out.push(`names a different file in its local header (${JSON.stringify(localName.toString('utf8'))})`);
  }
  const flags = header.readUInt16LE(6);
  for (const [bit, what] of [
    [FLAG_ENCRYPTED, 'encryption'],
    [FLAG_STRONG_ENCRYPTION, 'strong encryption'],
    [FLAG_DATA_DESCRIPTOR, 'data descriptor'],
  ] as const) {
    if ((flags & bit) !== (centralFlags & bit)) out.push(`has the ${what} flag ${flags & bit ? 'set' : 'clear'} in its local header but ${centralFlags & bit ? 'set' : 'clear'} in the central directory`);
  }
  // The UTF-8 flag decides how a non-ASCII name is read; for an ASCII name it changes nothing.
  if ((flags & FLAG_UTF8) !== (centralFlags & FLAG_UTF8) && e.nameBytes.some((b) => b > 0x7f)) {
    out.push('has the UTF-8 name flag in only one of its headers, so tools read its name differently');
  }
  const method = header.readUInt16LE(8);
  if (method !== e.method) out.push(`uses compression method ${method} in its local header but ${e.method} in the central directory`);
  const deferred = (centralFlags & FLAG_DATA_DESCRIPTOR) !== 0;
  const agrees = (local: number, central: number) => local === central || (deferred && local === 0);
  const crc = header.readUInt32LE(14);
  if (!agrees(crc, e.crc32)) out.push(`has CRC-32 ${crc.toString(16).padStart(8, '0')} in its local header but ${e.crc32.toString(16).padStart(8, '0')} in the central directory`);
  const sizes = localSizes(header, extra);
  if (typeof sizes === 'string') out.push(sizes);
  else {
    if (!agrees(sizes.compressed, e.compressedSize)) out.push(`has compressed size ${sizes.compressed} in its local header but ${e.compressedSize} in the central directory`);
    if (!agrees(sizes.uncompressed, e.uncompressedSize)) out.push(`has size ${sizes.uncompressed} in its local header but ${e.uncompressedSize} in the central directory`);
  }
  return out;
}

/**
 * Positional reads served from one 64 KiB window read ahead, for reading
 * many small records in file order (local headers of small entries sit next
 * to each other): a few reads instead of two per entry.
 */
class WindowReader {
  private window: Buffer = Buffer.alloc(0);
  private windowStart = 0;
  constructor(
    private readonly handle: FileHandle,
    private readonly end: number,
  ) {}
  async read(position: number, length: number): Promise<Buffer> {
    if (position < this.windowStart || position + length > this.windowStart + this.window.length) {
      this.windowStart = position;
      this.window = await readAt(this.handle, position, Math.max(length, Math.min(64 * 1024, this.end - position)));
    }
    return this.window.subarray(position - this.windowStart, position - this.windowStart + length);
  }
}

/**
 * Reads every entry's local header and checks it against the central
 * directory (issue #24 item 8a: an archive whose headers disagree imported
 * but never started). Returns where each entry's data starts.
 */
async function checkLocalHeaders(handle: FileHandle, files: UnzipperFile[], entries: ZipEntry[], centralDirectoryOffset: number): Promise<Map<ZipEntry, number>> {
  const issues: FieldIssue[] = [];
  let more = 0;
  const report = (path: string, message: string) => {
    if (issues.length < MAX_LOCAL_HEADER_ISSUES) issues.push({ path, message: `${message}; ${FIX_LOCAL_HEADER}` });
    else more++;
  };
  const starts = new Map<ZipEntry, number>();
  const reader = new WindowReader(handle, centralDirectoryOffset);
  // In file order, so the reader's window moves forward only.
  const order = entries.map((_, i) => i).sort((a, b) => entries[a]!.localHeaderOffset - entries[b]!.localHeaderOffset);
  for (const i of order) {
    const e = entries[i]!;
    const path = e.name || `entry #${i}`;
    // One read for the fixed part and the name as long as the central directory says it is.
    const want = 30 + e.nameBytes.length;
    if (e.localHeaderOffset + want > centralDirectoryOffset) {
      report(path, 'has a local header offset that points past the entries');
      continue;
    }
    const head = await reader.read(e.localHeaderOffset, want);
    if (head.readUInt32LE(0) !== LOCAL_HEADER_SIGNATURE) {
      report(path, 'has no local header where the central directory points (signature missing)');
      continue;
    }
    const nameLength = head.readUInt16LE(26);
    const extraLength = head.readUInt16LE(28);
    const start = e.localHeaderOffset + 30 + nameLength + extraLength;
    if (start + e.compressedSize > centralDirectoryOffset) {
      report(path, 'has a local header or data that runs into the central directory');
      continue;
    }
    const localName = nameLength === e.nameBytes.length ? head.subarray(30) : await reader.read(e.localHeaderOffset + 30, nameLength);
    const extra = extraLength ? await reader.read(e.localHeaderOffset + 30 + nameLength, extraLength) : Buffer.alloc(0);
    for (const problem of localHeaderProblems(e, files[i]!.flags, head, localName, extra)) report(path, problem);
    starts.set(e, start);
  }
  // With the real header lengths known, no entry's data may reach the next local header.
  const byOffset = [...starts.keys()].sort((a, b) => a.localHeaderOffset - b.localHeaderOffset);
  for (let i = 0; i + 1 < byOffset.length; i++) {
    const e = byOffset[i]!;
    const next = byOffset[i + 1]!;
    if (starts.get(e)! + e.compressedSize > next.localHeaderOffset) report(next.name, `starts inside the data of ${e.name} (overlapping entries)`);
  }
  if (more) issues.push({ path: 'bundle', message: `and ${more} more local header problems; ${FIX_LOCAL_HEADER}` });
  if (issues.length) throw new InvalidError('the bundle is refused: local file headers disagree with the central directory', issues);
  return starts;
}

/** Size limits on declared sizes: total and per-entry ratio. */
function checkDeclaredSizes(entries: ZipEntry[], limits: BundleLimits): number {
  let total = 0;
  for (const e of entries) {
    total += e.uncompressedSize;
    if (e.uncompressedSize >= RATIO_CHECK_MIN_BYTES) {
      const ratio = e.compressedSize === 0 ? Infinity : e.uncompressedSize / e.compressedSize;
      if (ratio > limits.maxCompressionRatio) {
        const shown = Number.isFinite(ratio) ? `${Math.round(ratio)}:1` : 'from nothing';
        throw new TooLargeError(
          `${e.name} expands ${shown} (${formatBytes(e.uncompressedSize)} from ${formatBytes(e.compressedSize)}), over the limit of ${limits.maxCompressionRatio}:1 (maxCompressionRatio): the bundle looks like a zip bomb; if the file is genuine, ${howToRaise('maxCompressionRatio')}`,
        );
      }
    }
  }
  if (total > limits.maxUncompressedBytes) {
    throw new TooLargeError(
      `the bundle expands to ${formatBytes(total)}, over the limit of ${formatBytes(limits.maxUncompressedBytes)} (maxUncompressedBytes); leave large files out (see .appignore) or ${howToRaise('maxUncompressedBytes')}`,
    );
  }
  return total;
}

// zlib.crc32 is in Node >= 20.15; keep a table fallback for older 20.x.
const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();
const nativeCrc32 = (zlib as unknown as { crc32?: (data: Buffer, value?: number) => number }).crc32;
function crc32(data: Buffer, value: number): number {
  if (nativeCrc32) return nativeCrc32(data, value);
  let c = (value ^ 0xffffffff) >>> 0;
  for (let i = 0; i < data.length; i++) c = CRC_TABLE[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/**
 * Passes decompressed bytes through, failing as soon as they exceed the
 * declared size (a lying header) and at the end if size or CRC-32 differ.
 */
class EntryCheck extends Transform {
  private count = 0;
  private crc = 0;
  constructor(private readonly entry: ZipEntry) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.count += chunk.length;
    if (this.count > this.entry.uncompressedSize) {
      cb(lying(this.entry, `decompresses to more than its declared ${formatBytes(this.entry.uncompressedSize)}`));
      return;
    }
    this.crc = crc32(chunk, this.crc);
    cb(null, chunk);
  }
  override _flush(cb: TransformCallback): void {
    if (this.count !== this.entry.uncompressedSize) cb(lying(this.entry, `decompresses to ${this.count} bytes, not the declared ${this.entry.uncompressedSize}`));
    else if (this.crc !== this.entry.crc32) cb(lying(this.entry, 'fails its CRC-32 check'));
    else cb();
  }
}

function lying(e: ZipEntry, what: string): InvalidError {
  const message = `${what}; the archive is corrupt or crafted to lie about its contents`;
  return new InvalidError(`the bundle is invalid: ${e.name} ${message}`, [{ path: e.name, message }]);
}

/** The bytes [start, start+length) of the file, in chunks, by positional reads on the shared handle. */
async function* readRange(handle: FileHandle, start: number, length: number): AsyncGenerator<Buffer> {
  let position = start;
  let left = length;
  while (left > 0) {
    const n = Math.min(left, 256 * 1024);
    const buf = Buffer.allocUnsafe(n);
    const { bytesRead } = await handle.read(buf, 0, n, position);
    if (bytesRead === 0) throw corrupt(`unexpected end of file at offset ${position}`);
    position += bytesRead;
    left -= bytesRead;
    yield buf.subarray(0, bytesRead);
  }
}

/** An opened archive: its checked entries and bounded readers for them. Call close(). */
export class ZipArchive {
  private constructor(
    readonly path: string,
    private readonly handle: FileHandle,
    readonly entries: ZipEntry[],
    /** Size of the archive file. */
    readonly size: number,
    /** Sum of declared decompressed sizes. */
    readonly uncompressedBytes: number,
    /** Where each entry's data starts, from its checked local header. */
    private readonly dataStarts: Map<ZipEntry, number>,
  ) {}

  /**
   * Opens `path` and applies every header-level check (no entry is
   * decompressed): size, entry count, names, types, duplicates, overlaps,
   * total size and per-entry ratio, and every local header against the
   * central directory. Throws InvalidError or TooLargeError.
   */
  static async open(path: string, limits: BundleLimits): Promise<ZipArchive> {
    checkLimits(limits);
    const handle = await open(path, 'r');
    try {
      const { size } = await handle.stat();
      if (size > limits.maxBundleBytes) {
        throw new TooLargeError(`the bundle is ${formatBytes(size)}, over the limit of ${formatBytes(limits.maxBundleBytes)} (maxBundleBytes); leave large files out (see .appignore) or ${howToRaise('maxBundleBytes')}`);
      }
      const eocd = await readEndOfCentralDirectory(handle, size);
      if (eocd.entryCount > limits.maxEntries) {
        throw new TooLargeError(`the bundle has ${eocd.entryCount} entries, over the limit of ${limits.maxEntries} (maxEntries); leave files out (see .appignore) or ${howToRaise('maxEntries')}`);
      }
      let directory: CentralDirectory;
      try {
        directory = await openFile(path, { tailSize: size - eocd.offset });
      } catch (err) {
        throw corrupt(`the central directory cannot be read (${err instanceof Error ? err.message : String(err)})`);
      }
      const files = directory.files;
      const bad = files.findIndex((f) => f.signature !== CENTRAL_HEADER_SIGNATURE);
      if (bad >= 0) throw corrupt(`central directory record #${bad} has no valid signature`);
      if (files.length !== eocd.entryCount) throw corrupt(`the central directory lists ${files.length} entries, not the declared ${eocd.entryCount}`);
      const entries = files.map(toEntry);
      const issues = structuralIssues(files, entries, eocd.centralDirectoryOffset);
      if (issues.length) throw new InvalidError('the bundle is refused', issues);
      const total = checkDeclaredSizes(entries, limits);
      const dataStarts = await checkLocalHeaders(handle, files, entries, eocd.centralDirectoryOffset);
      return new ZipArchive(path, handle, entries, size, total, dataStarts);
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  /** Names of the file (non-directory) entries. */
  fileNames(): Set<string> {
    return new Set(this.entries.filter((e) => !e.isDirectory).map((e) => e.name));
  }

  find(name: string): ZipEntry | undefined {
    return this.entries.find((e) => e.name === name);
  }

  /** Offset of the entry's data; open() checked every local header against the central directory. */
  private dataStart(e: ZipEntry): number {
    const start = this.dataStarts.get(e);
    if (start === undefined) throw new Error(`${e.name} is not an entry of ${this.path}`);
    return start;
  }

  private async decompressed(e: ZipEntry): Promise<Readable[]> {
    const start = this.dataStart(e);
    const raw = Readable.from(readRange(this.handle, start, e.compressedSize), { objectMode: false });
    return e.method === 8 ? [raw, zlib.createInflateRaw()] : [raw];
  }

  /**
   * The entry's decompressed bytes. Refuses (TooLargeError) when its declared
   * size exceeds `maxBytes`, and stops decompressing past the declared size.
   */
  async readEntry(e: ZipEntry, maxBytes: number, limitName: keyof BundleLimits = 'maxAssetBytes'): Promise<Buffer> {
    if (e.uncompressedSize > maxBytes) {
      throw new TooLargeError(`${e.name} is ${formatBytes(e.uncompressedSize)}, over the limit of ${formatBytes(maxBytes)} (${limitName}); make it smaller or ${howToRaise(limitName)}`);
    }
    const chunks: Buffer[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        chunks.push(chunk);
        cb();
      },
    });
    await this.pipeEntry(e, sink);
    return Buffer.concat(chunks);
  }

  /** Streams the entry's decompressed bytes into `dest`, enforcing the declared size and CRC-32. */
  async pipeEntry(e: ZipEntry, dest: Writable): Promise<void> {
    const stages = await this.decompressed(e);
    try {
      await pipeline([...stages, new EntryCheck(e), dest]);
    } catch (err) {
      // Only zlib's own errors mean bad compressed data; anything else (say, a full disk) is not the archive's fault.
      const code = (err as { code?: unknown }).code;
      if (isAppError(err) || typeof code !== 'string' || !code.startsWith('Z_')) throw err;
      const message = `cannot be decompressed (${err instanceof Error ? err.message : String(err)}); the archive is corrupt`;
      throw new InvalidError(`the bundle is invalid: ${e.name} ${message}`, [{ path: e.name, message }], { cause: err });
    }
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}
