// thumbor's colour filters and its request filters through the thumbor dialect, checked against thumbor's own code
// and tests. colorize() and curve() are compared byte for byte with thumbor/ext/filters/_colorize.c and _curve.c
// (thumbor f686b58), compiled with gcc as Python extensions from thumbor's source and run on a 256-pixel ramp (pixel
// v is v, v, v): the hex strings below are that C's output, R, G, B for v = 0…255.
import assert from 'node:assert/strict';
import { copyFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { parseThumbor } from '../../src/url/thumbor.ts';
import { corpus, tempDir, testServer } from '../helpers.ts';

const CURVE_DOC_1 =
  '543c43543c43543c43543c43543c43543c43543c43543c43543c43543c43543c43543c43543c43543c43543c43543c43543c43543c43543c' +
  '43543c43543c43543c43543c43543c43543c43543c43543c43543c43543c43543c43543c43543c43543c43553c43553c43573c43573c4358' +
  '3e43583e43593e43593e435a3e435a3f435c3f455d3f455d3f455e40455e40465f4046614046614247624247634247634349644349654349' +
  '65454a67454a68464b69464b6a474c6a474c6b494e6c494e6d4a4f6f4b50704b50714c52724e53734e54744f557550557652577853587954' +
  '597a545a7b555c7c575d7e585e7f595f805a61815c62825d64835e65855f6786616888626989636a8a646b8b656d8d676f8e68708f697190' +
  '6a72916b73926c74936d76946f7895707996717a97727b98737c99747e9b757f9c76809d78819e79829f7a83a07b85a17c86a37d88a37e89' +
  'a47f8aa5808ca6818da7828ea9838faa8491ab8592ab8693ac8893ad8995af8a96b08b97b18c99b18d9ab28e9bb48f9db5909eb6919fb792' +
  'a1b893a2b993a3ba94a4bb95a5bc96a7bd97a8bf98aabf99abc19aacc29badc39caec49db0c59eb1c69fb1c7a0b3c9a1b4caa2b5cba3b6cc' +
  'a3b7cda3b8cea4bacfa5bbd0a6bbd1a7bcd2a8bed3a9bfd4aabfd5abc0d5abc1d7acc2d8adc3d8aec4d9afc5dab0c6dbb1c6dbb1c7dcb2c8' +
  'ddb3c9ddb5caddb6cadeb6cbdeb7ccdfb8cddfb9cddfbbcee0bbcfe0bcd0e0bdd0e1bed1e1bfd1e2c0d2e2c1d3e2c2d3e2c3d3e2c4d4e2c5' +
  'd5e2c6d5e2c6d5e3c7d6e3c9d6e3cad7e3cad7e3cbd7e3ccd8e3cdd8e3ced8e4cfd8e4d0d8e4d0d8e4d1d9e4d2d9e4d3d9e4d3d9e4d5d9e4' +
  'd5d9e4d6d9e4d7d9e4d8d9e4d8d9e4d9d9e4dad9e4dbd9e4dbd9e4ddd9e4ddd9e4ded9e4dfd9e4dfd9e4e0d9e4e1d9e4e2d8e4e3d8e4e4d8' +
  'e4e4d8e4e5d8e4e6d8e4e7d8e4e8d8e4e9d8e4e9d8e4ebd8e4ebd8e4ecd8e4edd7e3eed7e3efd7e3efd7e3f0d7e3f1d7e3f2d7e3f3d7e3f4' +
  'd7e3f5d7e3f6d7e2f6d7e2f8d7e2f8d7e2f9d7e2fad7e2fbd7e2fcd8e2fcd8e2fdd8e2fed8e2ffd8';
const CURVE_DOC_2 =
  '3200303200303200303100303100303100303100313100313100313100313100313100313100313101313201323201323302323403323503' +
  '323604333705333806333907343a08343b09343c0a353e0b353f0c35400d36420e364310374411374512374613384714384815394917394a' +
  '183a4a193b4b1a3b4c1b3c4c1c3c4d1d3d4d1f3e4e203e4f213f4f2240502340502441502642512743512843522944522b45532c46532d47' +
  '542f4754304855324956334a56354b57364c58384d58394e593b4f5a3d505b3e515c40525d42535d44545e46555f4856604a57614c58624e' +
  '5a63505b64525c66545d67565e68585f695a606a5c616b5e636d60646e63656f6566706767716968736b69746d6b75706c77726d78746e79' +
  '766f7b78707c7a717d7d727f7f73808175828376838577848778868979878b7a898d7b8a8f7c8b917d8d937e8e957f909780919981929b82' +
  '949d83959f8497a08498a2859aa4869ba6879ca7889ea9899fab8aa0ac8ba2ae8ba3af8ca5b18da6b28ea7b38fa9b58faab690abb791adb8' +
  '91aeba92afbb93b1bc94b2bd94b3be95b5bf96b6c097b7c197b9c198bac299bbc39abdc49bbec59cc0c59dc1c69ec3c79fc4c7a0c6c8a1c7' +
  'c9a2c9c9a3cacaa4cccaa5cdcba6cfcca8d0cca9d2cdaad3cdabd5ceacd6ceadd8cfaed9d0afdbd0b0dcd1b1ddd1b2dfd2b2e0d2b3e1d3b4' +
  'e2d4b5e3d4b5e4d5b6e5d5b7e6d6b7e7d7b8e8d7b8e9d8b9ead9b9ebd9baecdabaeddbbaeddbbbeedcbbefddbcf0ddbcf0debcf1dfbdf2df' +
  'bdf2e0bef3e1bef3e1bef4e2bff4e2bff5e3c0f6e4c1f6e4c1f6e5c2f7e5c2f7e6c3f8e6c4f8e7c5f9e7c5f9e8c6fae8c7fae8c8fae9c9fb' +
  'e9c9fbeacafbeacbfceaccfcebcdfcebcefceccffdeccffdecd0fdedd1fdedd2feedd3feeed4feeed5feeed5feefd6ffefd7ffefd8fff0d8' +
  'fff0d9fff0dafff1dafff1dbfff1dbfff2dcfff2ddfff2ddfff3defff3defff3defff4dffff4dffff4dffff5e0fff5e0fff5e0fff6e1fff6' +
  'e1fff7e1fff7e1fff7e1fff8e1fff8e1fff9e1fff9e1fefae1fefae1fefbe1fefbe1fefce1fefce1';
const CURVE_ODD =
  'c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8' +
  'c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c800c8c800c8c800c8c800c8c800c8c800c8c800c8c800c8c800c8c800c8c800c8c800c8c8' +
  '00c8c800c8c800c8c800c8c800c8c800c8c800c8c800c8c800c8c800c8c800c8c800c8c800c8c800c8c800c8c800c8c800c8c800c8c800c8' +
  'c800c8c800c8c800c8c800c8c800c8c800c8c800c8c800c8c800c8c800c8c800c8c800c8c800c8c800c8c800c8c800c8c800c8c800c8c800' +
  'c8c800c8c800c8c800c8c800c8c800c8c800c8c800c8c800c8c800c8c800c8c800c8c800c8c800c8c800c8c800c8c800c8c800c8c800c8c8' +
  '00c8c800c8c800c8c800c8c800c8c800c8c800c8c800c8c81ec8c81ec8c81ec8c81ec8c81ec8c81ec8c81ec8c81ec8c81ec8c81ec8c81ec8' +
  'c81ec8c81ec8c81ec8c81ec8c81ec8c81ec8c81ec8c81ec8c81ec8c81ec8c81ec8c81ec8c81ec8c81ec8c81ec8c81ec8c81ec8c81ec8c81e' +
  'c8c81ec8c81ec8c81ec8c81ec8c81ec8c81ec8c81ec8c81ec8c81ec8c81ec8c81ec8c81ec8c81ec8c81ec8c81ec8c81ec8c81ec8c81ec8c8' +
  '1ec8c81ec8c81ec8c81ec8c81ec8c81ec8c81ec8c81ec8c81ec8c81ec8c81ec8c81ec8c81ec8c81ec8c81ec8c81ec8c81ec8c81ec8c81ec8' +
  'c81ec8c81ec8c81ec8c81ec8c81ec8c81ec8c81ec8c81ec8c81ec8c81ec8c81ec8c81ec8c81ec8c81ec8c81ec8c81ec8c81ec8c81ec8c81e' +
  'c8c81ec8c81ec8c81ec8c81ec8c81ec8c81ec8c81ec8c81ec8c81ec8c81ec8c81ec8c81ec8c81ec8c81ec8c81ec8c81ec8c81ec8c81ec8c8' +
  '1ec8c81ec8c81ec8c81ec8c81ec8c81ec8c81ec8c81ec8c81ec8c81ec8c81ec8c81ec8c81ec8c81ec8c81ec8c81ec8c81ec8c81ec8c81ec8' +
  'c81ec8c81ec8c81ec8c81ec8c81ec8c81ec8c81ec8c81ec8c81ec8c81ec8c81ec8c81ec8c81ec8c81ec8c81ec8c81ec8c81ec8c81ec8c81e' +
  'c8c81ec8c81ec8c81ec8c81ec8c81ec8c81ec8c81ec8c81ec8c81ec8c81ec8c81ec8c81ec8c81ec8';
const COLORIZE_40_80_20_FFFFFF =
  '66cc3366cc3367cc3467cc3568cc3669cd3769cd376acd386acd396bcd3a6cce3b6cce3b6dce3c6dce3d6ece3e6fcf3f6fcf3f70cf4070cf' +
  '4171cf4272d04372d04373d04473d04574d04675d14775d14776d14876d14977d14a78d24b78d24b79d24c79d24d7ad24e7bd34f7bd34f7c' +
  'd3507cd3517dd3527ed4537ed4537fd4547fd45580d45681d55781d55782d55882d55983d55a84d65b84d65b85d65c85d65d86d65e87d75f' +
  '87d75f88d76088d76189d7628ad8638ad8638bd8648bd8658cd8668dd9678dd9678ed9688ed9698fd96a90da6b90da6b91da6c91da6d92da' +
  '6e93db6f93db6f94db7094db7195db7296dc7396dc7397dc7497dc7598dc7699dd7799dd779add789add799bdd7a9cde7b9cde7b9dde7c9d' +
  'de7d9ede7e9fdf7f9fdf7fa0df80a0df81a1df82a2e083a2e083a3e084a3e085a4e086a5e187a5e187a6e188a6e189a7e18aa8e28ba8e28b' +
  'a9e28ca9e28daae28eabe38fabe38face390ace391ade392aee493aee493afe494afe495b0e496b1e597b1e597b2e598b2e599b3e59ab4e6' +
  '9bb4e69bb5e69cb5e69db6e69eb7e79fb7e79fb8e7a0b8e7a1b9e7a2bae8a3bae8a3bbe8a4bbe8a5bce8a6bde9a7bde9a7bee9a8bee9a9bf' +
  'e9aac0eaabc0eaabc1eaacc1eaadc2eaaec3ebafc3ebafc4ebb0c4ebb1c5ebb2c6ecb3c6ecb3c7ecb4c7ecb5c8ecb6c9edb7c9edb7caedb8' +
  'caedb9cbedbacceebbcceebbcdeebccdeebdceeebecfefbfcfefbfd0efc0d0efc1d1efc2d2f0c3d2f0c3d3f0c4d3f0c5d4f0c6d5f1c7d5f1' +
  'c7d6f1c8d6f1c9d7f1cad8f2cbd8f2cbd9f2ccd9f2cddaf2cedbf3cfdbf3cfdcf3d0dcf3d1ddf3d2def4d3def4d3dff4d4dff4d5e0f4d6e1' +
  'f5d7e1f5d7e2f5d8e2f5d9e3f5dae4f6dbe4f6dbe5f6dce5f6dde6f6dee7f7dfe7f7dfe8f7e0e8f7e1e9f7e2eaf8e3eaf8e3ebf8e4ebf8e5' +
  'ecf8e6edf9e7edf9e7eef9e8eef9e9eff9eaf0faebf0faebf1faecf1faedf2faeef3fbeff3fbeff4fbf0f4fbf1f5fbf2f6fcf3f6fcf3f7fc' +
  'f4f7fcf5f8fcf6f9fdf7f9fdf7fafdf8fafdf9fbfdfafcfefbfcfefbfdfefcfdfefdfefefeffffff';
const COLORIZE_150_0_300_1A2B3C =
  '2700b42601b22602b02503ae2504ac2405aa2406a82307a62308a42209a2220aa0210b9e210c9c200d9a200e981f0f961f10941e11921e12' +
  '901d138e1d148c1c158a1c16881b17861b18841a19821a1a80191b7e191c7c181d7a181e78171f7617207416217216227015236e15246c14' +
  '256a142668132766132864122962122a60112b5e112c5c102d5a102e580f2f560f30540e31520e32500d334e0d344c0c354a0c36480b3746' +
  '0b38440a39420a3a40093b3e093c3c083d3a083e38073f3607403406413206423005432e05442c04452a044628034726034824024922024a' +
  '20014b1e014c1c004d1a004e18004f1600501400511200521000530e00540c00550a005608005706005804005902005a00005b00005c0000' +
  '5d00005e00005f00006000006100006200006300006400006500006600006700006800006900006a00006b00006c00006d00006e00006f00' +
  '007000007100007200007300007400007500007600007700007800007900007a00007b00007c00007d00007e00007f000080000081000082' +
  '00008300008400008500008600008700008800008900008a00008b00008c00008d00008e00008f0000900000910000920000930000940000' +
  '9500009600009700009800009900009a00009b00009c00009d00009e00009f0000a00000a10000a20000a30000a40000a50000a60000a700' +
  '00a80000a90000aa0000ab0000ac0000ad0000ae0000af0000b00000b10000b20000b30000b40000b50000b60000b70000b80000b90000ba' +
  '0000bb0000bc0000bd0000be0000bf0000c00000c10000c20000c30000c40000c50000c60000c70000c80000c90000ca0000cb0000cc0000' +
  'cd0000ce0000cf0000d00000d10000d20000d30000d40000d50000d60000d70000d80000d90000da0000db0000dc0000dd0000de0000df00' +
  '00e00000e10000e20000e30000e40000e50000e60000e70000e80000e90000ea0000eb0000ec0000ed0000ee0000ef0000f00000f10000f2' +
  '0000f30000f40000f50000f60000f70000f80000f90000fa0000fb0000fc0000fd0000fe0000ff00';

const DIR = tempDir('kinu-thumbor-filters-');
const { app } = testServer({ KINU_SOURCE: DIR, KINU_DIALECTS: 'thumbor=/th', KINU_MEMORY_CACHE_MB: '0' });
const W = 64;
const H = 48;

before(async () => {
  const ramp = Buffer.alloc(256 * 3);
  for (let v = 0; v < 256; v++) ramp.fill(v, v * 3, v * 3 + 3);
  writeFileSync(
    join(DIR, 'ramp.png'),
    await sharp(ramp, { raw: { width: 256, height: 1, channels: 3 } })
      .png()
      .toBuffer(),
  );
  // The same ramp with alpha falling from 255 to 0: the colour filters must leave alpha alone.
  const rampA = Buffer.alloc(256 * 4);
  for (let v = 0; v < 256; v++) rampA.set([v, v, v, 255 - v], v * 4);
  writeFileSync(
    join(DIR, 'ramp-a.png'),
    await sharp(rampA, { raw: { width: 256, height: 1, channels: 4 } })
      .png()
      .toBuffer(),
  );
  // Red grows with x, green with y: a crop shows in its corner pixels.
  const pattern = Buffer.alloc(W * H * 3);
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++)
      pattern.set([Math.round((255 * x) / (W - 1)), Math.round((255 * y) / (H - 1)), 96], (y * W + x) * 3);
  writeFileSync(
    join(DIR, 'p.png'),
    await sharp(pattern, { raw: { width: W, height: H, channels: 3 } })
      .png()
      .toBuffer(),
  );
  copyFileSync(corpus('gif/animated-rotating-squares.gif'), join(DIR, 'anim.gif'));
});
after(async () => {
  await app.close();
  rmSync(DIR, { recursive: true, force: true });
});

async function get(url: string) {
  const res = await app.inject({ url });
  assert.equal(res.statusCode, 200, `${url}: ${res.body.slice(0, 300)}`);
  const meta = await sharp(res.rawPayload, { animated: true }).metadata();
  const { data, info } = await sharp(res.rawPayload).raw().toBuffer({ resolveWithObject: true });
  return { res, meta, data, info };
}

/** The colour channels of a decoded answer as hex, R, G, B pixel by pixel. */
/** Each filter is a 400 whose detail names `name` first. */
async function refused(name: string, filters: readonly string[]) {
  for (const f of filters) {
    const res = await app.inject({ url: `/th/unsafe/filters:${f}/ramp.png` });
    assert.equal(res.statusCode, 400, f);
    assert.match(res.json().detail, new RegExp(`^filter ${name}:`), f);
  }
}

const rgbHex = (data: Buffer, channels: number) =>
  Buffer.from([...data].filter((_, i) => i % channels < 3)).toString('hex');

const DOC_1 =
  'curve([(0,0),(40,59),(255,255)],[(32,59),(64,80),(92,111),(128,153),(140,169),(164,201),(192,214),(224,215),(240,214),(255,212)],[(34,41),(64,51),(92,76),(128,112),(140,124),(164,147),(192,180),(224,216),(240,236),(255,255)],[(40,46),(64,55),(92,83),(128,127),(140,144),(164,174),(192,197),(224,199),(240,197),(255,198)])';
const DOC_2 =
  'curve([(0,0),(255,255)],[(0,50),(16,51),(32,69),(58,85),(92,120),(128,170),(140,186),(167,225),(192,245),(225,255),(244,255),(255,254)],[(0,0),(16,2),(32,18),(64,59),(92,116),(128,182),(167,211),(192,227),(224,240),(244,247),(255,252)],[(0,48),(16,50),(62,77),(92,110),(128,144),(140,153),(167,180),(192,192),(224,217),(244,225),(255,225)])';

describe('colorize(): thumbor/ext/filters/_colorize.c', () => {
  // thumbor's test compares with its fixture by SSIM > 0.97; kinu gives the C's bytes exactly.
  test('tests/filters/test_colorize.py test_colorize_filter: colorize(40,80,20,ffffff), every byte as _colorize.c', async () => {
    const { data, info } = await get('/th/unsafe/filters:colorize(40,80,20,ffffff)/ramp.png');
    assert.deepEqual([info.width, info.height], [256, 1]);
    assert.equal(rgbHex(data, info.channels), COLORIZE_40_80_20_FFFFFF);
  });

  test('percents above 100 push past the fill colour and are clamped, as the C does', async () => {
    const { data, info } = await get('/th/unsafe/filters:colorize(150,0,300,1a2b3c)/ramp.png');
    assert.equal(rgbHex(data, info.channels), COLORIZE_150_0_300_1A2B3C);
  });

  test('alpha is left as it was', async () => {
    const { data, info } = await get('/th/unsafe/filters:colorize(40,80,20,ffffff)/ramp-a.png');
    assert.equal(info.channels, 4);
    assert.equal(rgbHex(data, 4), COLORIZE_40_80_20_FFFFFF);
    for (let v = 0; v < 256; v++) assert.equal(data[v * 4 + 3], 255 - v, `alpha at ${v}`);
  });

  test('a colour thumbor cannot read (bytearray.fromhex of three bytes) or a negative percent is a 400', async () => {
    await refused('colorize', [
      'colorize(40,80,20,%23ffffff)',
      'colorize(40,80,20,fff)',
      'colorize(-1,80,20,ffffff)',
      'colorize(40,80,20)',
    ]);
  });
});

describe('curve(): thumbor/ext/filters/_curve.c', () => {
  test("thumbor/filters/curve.py's first docstring example: every byte as _curve.c", async () => {
    const { data, info } = await get(`/th/unsafe/filters:${DOC_1}/ramp.png`);
    assert.equal(rgbHex(data, info.channels), CURVE_DOC_1);
  });

  test("integration_tests/urls_helpers.py FILTERS curve(…) (the docstring's second example): every byte as _curve.c", async () => {
    const { data, info } = await get(`/th/unsafe/filters:${DOC_2}/ramp.png`);
    assert.equal(rgbHex(data, info.channels), CURVE_DOC_2);
  });

  // Points out of order, a repeated x (the spline divides by zero: NaN, which x86 turns into 0), a value above 255
  // (its low byte) and a one-point curve: thumbor answers an image for each, and these are its bytes.
  test("odd curves give _curve.c's bytes too", async () => {
    const f = 'curve([(100,200),(50,10),(50,20),(200,30)],[(7,300)],[(0,0),(128,255)],[(10,10),(10,20),(255,0)])';
    const { data, info } = await get(`/th/unsafe/filters:${f}/ramp.png`);
    assert.equal(rgbHex(data, info.channels), CURVE_ODD);
  });

  test('curve keeps its place among the pixel filters and reads with other filters after it', () => {
    const t = parseThumbor(`/unsafe/filters:brightness(5):${DOC_2}:quality(80)/a.jpg`, { prefix: '', keys: [] })
      .transform!;
    assert.deepEqual(
      t.adjust!.map((a) => a.op),
      ['brightness', 'curve'],
    );
    assert.equal(t.quality, 80);
  });

  test('an empty curve (undefined behaviour in _curve.c), three curves or a malformed one is a 400', async () => {
    await refused('curve', [
      'curve([],[(0,0)],[(0,0)],[(0,0)])',
      'curve([(0,0)],[(0,0)],[(0,0)])',
      'curve([(0,0)],[(0,0)],[(0,0)],[(0,0)(1,1)])',
    ]);
  });
});

describe('cover(): transformer.py extract_cover, the first frame of a GIF', () => {
  test('tests/handlers/test_base_handler_with_cover.py test_can_get_image_cover: one frame, still a GIF', async () => {
    const whole = await get('/th/unsafe/anim.gif');
    assert.ok((whole.meta.pages ?? 1) > 1, 'the source is animated');
    const { res, meta } = await get('/th/unsafe/filters:cover()/anim.gif');
    assert.equal(res.headers['content-type'], 'image/gif');
    assert.equal(meta.format, 'gif');
    assert.equal(meta.pages ?? 1, 1);
    assert.deepEqual([meta.width, meta.height], [whole.meta.width, whole.meta.pageHeight ?? whole.meta.height]);
  });

  test('with a box and fit-in too', async () => {
    for (const opts of ['20x20/', 'fit-in/30x30/']) {
      const { meta } = await get(`/th/unsafe/${opts}filters:cover()/anim.gif`);
      assert.equal(meta.format, 'gif', opts);
      assert.equal(meta.pages ?? 1, 1, opts);
    }
  });

  test('cover(1) is not the text "cover()" transformer.py looks for: the animation stays', async () => {
    const { meta } = await get('/th/unsafe/filters:cover(1)/anim.gif');
    assert.ok((meta.pages ?? 1) > 1);
  });
});

describe('extract_focal(): thumbor/filters/extract_focal.py', () => {
  const opts = { prefix: '', keys: [] };
  // docs/extract_focal_points.rst: /unsafe/300x100/filters:extract_focal()/localhost:8888/unsafe/240x220:480x260/<image>
  test("the nested URL's manual crop becomes a focal point on the nested image (FocalPoint.from_square)", () => {
    const r = parseThumbor(
      '/unsafe/300x100/filters:extract_focal()/localhost:8888/unsafe/240x220:480x260/photos%2Fa.jpg',
      opts,
    );
    assert.equal(r.key, 'photos/a.jpg');
    assert.deepEqual(r.transform!.thumbor!.points, [[360, 240, 240 * 40]]);
    // Levels without a crop are read through (up to 10); focal() points keep their order around it.
    const deep = parseThumbor(
      '/unsafe/filters:focal(1x1:3x3):extract_focal()/h/unsafe/fit-in/x/h2/abcdefghijklmnopqrstuvwxyz0123=/10x20:30x60/a.jpg',
      opts,
    );
    assert.equal(deep.key, 'a.jpg');
    assert.deepEqual(deep.transform!.thumbor!.points, [
      [2, 2, 4],
      [20, 40, 800],
    ]);
  });

  test('without a nested unsafe/ or signature, or without a host segment, the image is left as it is', () => {
    assert.equal(parseThumbor('/unsafe/filters:extract_focal()/h/10x20:30x60/a.jpg', opts).key, 'h/10x20:30x60/a.jpg');
    assert.equal(parseThumbor('/unsafe/filters:extract_focal()/photos/a.jpg', opts).key, 'photos/a.jpg');
  });

  test('a nested crop without area (thumbor divides by its zero weight) is a 400', async () => {
    const res = await app.inject({ url: '/th/unsafe/filters:extract_focal()/h/unsafe/10x20:10x60/p.png' });
    assert.equal(res.statusCode, 400);
    assert.match(res.json().detail, /^filter extract_focal:/);
  });

  test('the crop around the extracted point is the one focal() with that box gives, not the centre', async () => {
    const url = (s: string) => `/th/unsafe/40x10/${s}`;
    const extracted = await get(url('filters:extract_focal()/localhost:8888/unsafe/0x0:8x6/p.png'));
    const focal = await get(url('filters:focal(0x0:8x6)/p.png'));
    const centre = await get(url('p.png'));
    assert.deepEqual([extracted.info.width, extracted.info.height], [40, 10]);
    assert.ok(extracted.data.equals(focal.data), 'extract_focal and focal differ');
    assert.ok(!extracted.data.equals(centre.data), 'the point did not move the crop');
    // The point is near the top: the crop starts at the top row (green 0).
    assert.ok(extracted.data[1]! < 10, `green ${extracted.data[1]} at the top-left`);
  });
});

describe('filters thumbor answers without changing the image', () => {
  // redeye.py (not among thumbor's BUILTIN_FILTERS) only looks inside faces found by thumbor's face detector.
  test('tests/filters/test_redeye.py test_redeye_passthrough_when_no_face_points: red_eye() leaves the pixels', async () => {
    const plain = await get('/th/unsafe/20x15/p.png');
    const red = await get('/th/unsafe/20x15/filters:red_eye()/p.png');
    assert.ok(red.data.equals(plain.data));
  });

  // engines/pil.py read(): without a HEIF encoder thumbor writes the original's format (kinu has none either).
  test("integration_tests/urls_helpers.py FILTERS format(heic), format(heif): the original's format", async () => {
    for (const f of ['heic', 'heif', 'HEIC']) {
      const { res, meta, info } = await get(`/th/unsafe/20x15/filters:format(${f})/p.png`);
      assert.equal(meta.format, 'png', f);
      assert.equal(res.headers['content-type'], 'image/png', f);
      assert.deepEqual([info.width, info.height], [20, 15]);
    }
  });
});
