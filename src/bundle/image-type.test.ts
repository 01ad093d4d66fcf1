import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { sniffImage } from './image-type.ts';

test('images are recognized by their bytes', async () => {
  assert.equal(sniffImage(await readFile(new URL('../../test/fixtures/bundles/wave-app/static/icon.png', import.meta.url))), 'image/png');
  assert.equal(sniffImage(Buffer.from([0xff, 0xd8, 0xff, 0xdb, 0, 0])), 'image/jpeg');
  assert.equal(sniffImage(Buffer.from('GIF89a\x01\x00\x01\x00', 'latin1')), 'image/gif');
  assert.equal(sniffImage(Buffer.from('RIFF\x24\x00\x00\x00WEBPVP8 ', 'latin1')), 'image/webp');
  assert.equal(sniffImage(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"></svg>')), 'image/svg+xml');
  assert.equal(sniffImage(Buffer.from('\ufeff  <?xml version="1.0"?>\n<!-- logo -->\n<svg width="1"/>')), 'image/svg+xml');
  assert.equal(sniffImage(Buffer.from('<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "x">\n<svg/>')), 'image/svg+xml');
});

test('anything else is not an image, whatever its name', () => {
  for (const s of ['', 'hello', '<html><body>', '<?xml version="1.0"?><html/>', '<svgfoo>', 'RIFF\x24\x00\x00\x00WAVEfmt ', '\x89PNG']) {
    assert.equal(sniffImage(Buffer.from(s, 'latin1')), undefined, JSON.stringify(s));
  }
});
