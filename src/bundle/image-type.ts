/**
 * Image type from content, never from the file name: icons and screenshots
 * are served to browsers, so a file only counts as an image if its bytes
 * say so.
 */

export type ImageContentType = 'image/png' | 'image/jpeg' | 'image/gif' | 'image/webp' | 'image/svg+xml';

const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** The image type of `data` by its magic bytes (SVG: XML text with an `<svg` root), or undefined. */
export function sniffImage(data: Buffer): ImageContentType | undefined {
  if (data.length >= 8 && data.subarray(0, 8).equals(PNG)) return 'image/png';
  if (data.length >= 3 && data[0] === 0xff && data[1] === 0xd8 && data[2] === 0xff) return 'image/jpeg';
  const head = data.subarray(0, 12).toString('latin1');
  if (head.startsWith('GIF87a') || head.startsWith('GIF89a')) return 'image/gif';
  if (data.length >= 12 && head.startsWith('RIFF') && head.slice(8, 12) === 'WEBP') return 'image/webp';
  if (isSvg(data)) return 'image/svg+xml';
  return undefined;
}

function isSvg(data: Buffer): boolean {
  // Only the start matters for the decision; a real SVG names its root element early.
  let text = data.subarray(0, 4096).toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  text = text.trimStart();
  if (text.startsWith('<svg')) return /^<svg[\s>/]/.test(text);
  if (text.startsWith('<?xml') || text.startsWith('<!--') || /^<!DOCTYPE\s+svg/i.test(text)) return /<svg[\s>/]/.test(text);
  return false;
}

/** Lower-case extension conventionally used for a content type (for stored file names). */
export function extensionFor(type: ImageContentType): string {
  return { 'image/png': 'png', 'image/jpeg': 'jpg', 'image/gif': 'gif', 'image/webp': 'webp', 'image/svg+xml': 'svg' }[type];
}
