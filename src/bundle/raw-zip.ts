/**
 * A zip writer that writes exactly the header fields it is given, for tests
 * that need archives real tools refuse to make: traversal names, duplicate
 * names, symlink modes, lying sizes, mismatched local headers.
 * Not for production use: it trusts its input completely.
 */
import { writeFile } from 'node:fs/promises';
import zlib from 'node:zlib';

export interface RawZipEntry {
  /** Name in the central directory. */
  name: string | Buffer;
  /** Name in the local header (default: same as name). */
  localName?: string | Buffer;
  /** Uncompressed content (default: empty). */
  data?: Buffer;
  /** 0 = stored, 8 = deflate (default). */
  method?: number;
  /** Unix mode (e.g. 0o120777 for a symlink), stored in the upper 16 bits of the external attributes. */
  unixMode?: number;
  /** Host in the upper byte of "version made by" (default 3 = unix). */
  host?: number;
  /** General purpose flags (bit 0 = encrypted). */
  flags?: number;
  /** Lie about the decompressed size (default: the real size). */
  declaredUncompressedSize?: number;
  /** CRC-32 to write (default: the real one). */
  crc32?: number;
  /** Compressed bytes to write instead of compressing data. */
  compressed?: Buffer;
  /** Local header offset written in the central directory (default: the real one); for overlapping entries. */
  centralOffset?: number;
  /** Write the CRC-32 and sizes in a data descriptor after the data (flag bit 3), zero in the local header. */
  dataDescriptor?: boolean;
  /** Local header fields that disagree with the central directory (default: the same values). */
  localMethod?: number;
  localFlags?: number;
  localCrc32?: number;
  localCompressedSize?: number;
  localUncompressedSize?: number;
  /** Extra field of the local header (default: none), e.g. a zip64 record. */
  localExtra?: Buffer;
}

const nativeCrc32 = (zlib as unknown as { crc32: (data: Buffer) => number }).crc32;

function bytes(v: string | Buffer): Buffer {
  return typeof v === 'string' ? Buffer.from(v, 'utf8') : v;
}

/** The bytes of a zip archive holding `entries` in order, with the given (possibly hostile) headers. */
export function buildRawZip(entries: RawZipEntry[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const data = e.data ?? Buffer.alloc(0);
    const method = e.method ?? 8;
    const compressed = e.compressed ?? (method === 8 ? zlib.deflateRawSync(data) : data);
    const crc = e.crc32 ?? nativeCrc32(data) >>> 0;
    const usize = e.declaredUncompressedSize ?? data.length;
    const name = bytes(e.name);
    const localName = bytes(e.localName ?? e.name);
    const flags = (e.flags ?? 0) | 0x800 | (e.dataDescriptor ? 0x8 : 0); // UTF-8 names
    const localExtra = e.localExtra ?? Buffer.alloc(0);

    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(e.localFlags ?? flags, 6);
    local.writeUInt16LE(e.localMethod ?? method, 8);
    local.writeUInt16LE(0, 10);
    local.writeUInt16LE(0x21, 12); // 1980-01-01
    local.writeUInt32LE(e.localCrc32 ?? (e.dataDescriptor ? 0 : crc), 14);
    local.writeUInt32LE(e.localCompressedSize ?? (e.dataDescriptor ? 0 : compressed.length), 18);
    local.writeUInt32LE(e.localUncompressedSize ?? (e.dataDescriptor ? 0 : usize), 22);
    local.writeUInt16LE(localName.length, 26);
    local.writeUInt16LE(localExtra.length, 28);
    locals.push(local, localName, localExtra, compressed);
    let descriptorLength = 0;
    if (e.dataDescriptor) {
      const descriptor = Buffer.alloc(16);
      descriptor.writeUInt32LE(0x08074b50, 0);
      descriptor.writeUInt32LE(crc, 4);
      descriptor.writeUInt32LE(compressed.length, 8);
      descriptor.writeUInt32LE(usize, 12);
      locals.push(descriptor);
      descriptorLength = descriptor.length;
    }

    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(((e.host ?? 3) << 8) | 20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(flags, 8);
    central.writeUInt16LE(method, 10);
    central.writeUInt16LE(0, 12);
    central.writeUInt16LE(0x21, 14);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(compressed.length, 20);
    central.writeUInt32LE(usize, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt16LE(0, 30);
    central.writeUInt16LE(0, 32);
    central.writeUInt16LE(0, 34);
    central.writeUInt16LE(0, 36);
    const isDir = name.toString('utf8').endsWith('/');
    const mode = e.unixMode ?? (isDir ? 0o040755 : 0o100644);
    central.writeUInt32LE(((mode << 16) | (isDir ? 0x10 : 0)) >>> 0, 38);
    central.writeUInt32LE(e.centralOffset ?? offset, 42);
    centrals.push(central, name);

    offset += local.length + localName.length + localExtra.length + compressed.length + descriptorLength;
  }
  const cd = Buffer.concat(centrals);
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(entries.length, 8);
  eocd.writeUInt16LE(entries.length, 10);
  eocd.writeUInt32LE(cd.length, 12);
  eocd.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, eocd]);
}

/** Writes buildRawZip(entries) to `path` and returns the path. */
export async function writeRawZip(path: string, entries: RawZipEntry[]): Promise<string> {
  await writeFile(path, buildRawZip(entries));
  return path;
}
