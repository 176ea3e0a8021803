// The playground: controls built from kinu/client's param spec; each change builds the native URL with
// kinu/client's kinuUrl (the module the package ships, served beside this file), has the server sign it when
// it signs, fetches it, and shows the image or JSON with what the response said about it.
import { kinuUrl, PARAM_SPEC } from './client/index.js';
import { PARAM_DOCS } from './client/params.generated.js';
import { controlsFor, paramsOf } from './form.js';
import { thumbHashToRGBA } from './thumbhash.js';

const BASE = '/_kinu/playground';
// What browsers send for <img>, so fmt=auto negotiates as it would on a page.
const ACCEPT = 'image/avif,image/webp,image/png,image/*;q=0.8,*/*;q=0.5';
const SLIDER_STEPS = 1000;

const $ = (id) => document.getElementById(id);
const el = (tag, props = {}, ...children) => {
  const e = Object.assign(document.createElement(tag), props);
  e.append(...children);
  return e;
};

const cfg = await (await fetch(`${BASE}/config.json`)).json();
const CONTROLS = controlsFor(PARAM_SPEC, PARAM_DOCS);
const view = document.querySelector('.view');
const inputs = new Map(); // param name → { get(): string, set(v: string) }
const keyInput = $('key');
let inflight;
let resultObjectUrl;
let timer;

/** Backticked words in the table's prose become <code>, without innerHTML. */
function prose(text) {
  return text.split('`').map((part, i) => (i % 2 ? el('code', { textContent: part }) : document.createTextNode(part)));
}

function buildControl(p) {
  const id = `p-${p.name}`;
  const row = el('div', { className: 'param' });
  const label = el(
    'label',
    { htmlFor: id, id: `${id}-label` },
    el('code', { textContent: p.name }),
    ' ',
    el('span', { className: 'doc' }, ...prose(p.doc)),
  );
  const values = el('p', { className: 'values', id: `${id}-values` }, ...prose(p.values));
  const c = p.control;
  let field;
  if (c.kind === 'select') {
    field = el(
      'select',
      { id },
      el('option', { value: '', textContent: '— (default)' }),
      ...c.options.map((o) => el('option', { value: o, textContent: o })),
    );
    field.addEventListener('change', () => schedule(0));
    inputs.set(p.name, {
      get: () => field.value,
      set: (v) => {
        field.value = c.options.includes(v) ? v : '';
      },
    });
    row.append(label, field);
  } else if (c.kind === 'range') {
    const toSlider = (v) => (c.log ? Math.round((Math.log(v / c.min) / Math.log(c.max / c.min)) * SLIDER_STEPS) : v);
    const fromSlider = (s) => {
      const v = c.log ? c.min * (c.max / c.min) ** (s / SLIDER_STEPS) : s;
      const places = Math.max(0, -Math.floor(Math.log10(c.step) + 1e-9));
      return String(Number(Math.min(c.max, Math.max(c.min, v)).toFixed(places)));
    };
    const slider = el(
      'input',
      c.log
        ? { type: 'range', min: 0, max: SLIDER_STEPS, step: 1 }
        : { type: 'range', min: c.min, max: c.max, step: c.step },
    );
    slider.setAttribute('aria-labelledby', `${id}-label`);
    slider.setAttribute('aria-describedby', `${id}-values`);
    field = el('input', {
      id,
      type: 'number',
      min: c.min,
      max: c.max,
      step: c.step,
      inputMode: 'decimal',
      placeholder: p.example,
    });
    const clear = el('button', { type: 'button', className: 'clear', textContent: '×', title: `Leave ${p.name} out` });
    clear.setAttribute('aria-label', `Clear ${p.name}`);
    const place = () => {
      const v = Number(field.value || p.example || c.min);
      slider.value = String(toSlider(Number.isFinite(v) && v > 0 ? v : c.min));
      // A log slider's position means nothing to a screen reader: announce the value itself.
      slider.setAttribute('aria-valuetext', field.value || 'not set');
      row.classList.toggle('unset', field.value === '');
    };
    slider.addEventListener('input', () => {
      field.value = fromSlider(Number(slider.value));
      slider.setAttribute('aria-valuetext', field.value);
      row.classList.remove('unset');
      schedule(120);
    });
    field.addEventListener('input', () => {
      place();
      schedule(400);
    });
    clear.addEventListener('click', () => {
      field.value = '';
      place();
      schedule(0);
    });
    inputs.set(p.name, {
      get: () => field.value,
      set: (v) => {
        field.value = v;
        place();
      },
    });
    place();
    row.append(label, el('div', { className: 'range' }, slider, field, clear));
  } else {
    field = el('input', { id, type: 'text', autocomplete: 'off', spellcheck: false, placeholder: p.example });
    const suggest = c.suggest === 'keys' ? (cfg.keys ?? []) : c.suggest === 'presets' ? cfg.presets : c.suggest;
    const extra = [];
    if (suggest.length > 0) {
      const list = el('datalist', { id: `${id}-list` }, ...suggest.map((s) => el('option', { value: s })));
      field.setAttribute('list', list.id);
      extra.push(list);
    }
    if (c.colour) {
      const picker = el('input', { type: 'color', value: '#ffffff' });
      picker.setAttribute('aria-label', `${p.name} colour picker`);
      picker.addEventListener('input', () => {
        field.value = picker.value.slice(1) + field.value.slice(6, 8);
        schedule(150);
      });
      field.addEventListener('input', () => {
        if (/^[0-9a-f]{6}/i.test(field.value)) picker.value = `#${field.value.slice(0, 6).toLowerCase()}`;
      });
      extra.push(picker);
    }
    field.addEventListener('input', () => schedule(500));
    inputs.set(p.name, {
      get: () => field.value.trim(),
      set: (v) => {
        field.value = v;
      },
    });
    row.append(label, el('div', { className: 'text' }, field, ...extra));
  }
  field.setAttribute('aria-describedby', `${id}-values`);
  row.append(values);
  return row;
}

const values = () => Object.fromEntries(CONTROLS.map((p) => [p.name, inputs.get(p.name).get()]));

/** The native URL as kinu/client writes it; throws kinu/client's message for a value the server would refuse. */
const nativeUrl = (params = paramsOf(PARAM_SPEC, values())) => kinuUrl(cfg.prefix, keyInput.value.trim(), params);

function saveState() {
  const s = new URLSearchParams({ key: keyInput.value.trim() });
  for (const [name, v] of Object.entries(values())) if (v !== '') s.set(name, v);
  history.replaceState(null, '', `#${s}`);
}

function schedule(ms) {
  clearTimeout(timer);
  timer = setTimeout(render, ms);
}

async function problemOf(res) {
  try {
    const p = await res.json();
    return `${res.status} ${p.code ?? ''}: ${p.detail ?? p.title ?? ''}`;
  } catch {
    return `${res.status} ${res.statusText}`;
  }
}

const fmtBytes = (n) =>
  n < 1024 ? `${n} B` : n < 1048576 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 1048576).toFixed(2)} MiB`;
const fmtTiming = (h) =>
  h
    ? h
        .split(',')
        .map((part) => {
          const [name, ...attrs] = part.trim().split(';');
          const dur = attrs.find((a) => a.startsWith('dur='));
          return dur ? `${name} ${dur.slice(4)} ms` : name;
        })
        .join(' · ')
    : '—';

function facts(f) {
  for (const [k, v] of Object.entries(f)) $(`f-${k}`).textContent = v;
}

async function render() {
  saveState();
  inflight?.abort();
  const ctl = new AbortController();
  inflight = ctl;
  view.dataset.state = 'loading';
  facts({ status: '…', size: '…', bytes: '…', format: '…', cache: '…', timing: '…' });
  let url;
  try {
    url = nativeUrl();
  } catch (err) {
    return showProblem(err.message);
  }
  // A newer change aborts this one: whatever this one learns afterwards is not shown.
  const fail = (text, status) => {
    if (!ctl.signal.aborted) showProblem(text, url, status);
  };
  try {
    if (cfg.signed && url.includes('?')) {
      const s = await fetch(`${BASE}/sign?${new URLSearchParams({ url })}`, { signal: ctl.signal });
      if (!s.ok) return fail(await problemOf(s), s.status);
      url = (await s.json()).url;
    }
    showUrl(url);
    const t0 = performance.now();
    const res = await fetch(url, { cache: 'no-store', headers: { accept: ACCEPT }, signal: ctl.signal });
    if (!res.ok) return fail(await problemOf(res), res.status);
    const type = res.headers.get('content-type') ?? '';
    const body = await res.blob();
    const rtt = performance.now() - t0;
    const common = {
      status: String(res.status),
      bytes: `${fmtBytes(body.size)} (${body.size})`,
      format: type.split(';')[0],
      cache: res.headers.get('x-kinu-cache') ?? '—',
      timing: `${fmtTiming(res.headers.get('server-timing'))} (round trip ${rtt.toFixed(0)} ms)`,
    };
    if (type.startsWith('application/json')) {
      const d = JSON.parse(await body.text());
      if (ctl.signal.aborted) return;
      showJson(d);
      facts({ ...common, size: d.width && d.height ? `${d.width} × ${d.height} (described)` : '—' });
    } else {
      const objectUrl = URL.createObjectURL(body);
      const img = $('result');
      img.src = objectUrl;
      try {
        await img.decode();
      } catch {
        URL.revokeObjectURL(objectUrl);
        return fail(`your browser cannot show ${type}`, res.status);
      }
      if (ctl.signal.aborted) return URL.revokeObjectURL(objectUrl);
      if (resultObjectUrl) URL.revokeObjectURL(resultObjectUrl);
      resultObjectUrl = objectUrl;
      img.alt = `Result of ${url}`;
      img.hidden = false;
      $('json').hidden = true;
      $('problem').hidden = true;
      facts({ ...common, size: `${img.naturalWidth} × ${img.naturalHeight}` });
    }
    view.dataset.state = 'ready';
    $('live').textContent = `Result updated: ${common.format}, ${common.bytes}`;
  } catch (err) {
    fail(String(err), '—');
  }
}

/** The URL shown and linked; none while the controls cannot make one. */
function showUrl(url) {
  const a = $('url');
  a.textContent = url ?? '';
  if (url === undefined) a.removeAttribute('href');
  else a.href = url;
  $('copy').disabled = url === undefined;
}

function showProblem(text, url = undefined, status = '—') {
  showUrl(url);
  $('problem').textContent = text;
  $('problem').hidden = false;
  $('result').hidden = true;
  $('json').hidden = true;
  facts({ status: String(status), size: '—', bytes: '—', format: '—', cache: '—', timing: '—' });
  view.dataset.state = 'error';
  $('live').textContent = `Error: ${text}`;
}

function showJson(d) {
  $('result').hidden = true;
  $('problem').hidden = true;
  $('json').hidden = false;
  $('json-text').textContent = JSON.stringify(d, null, 2);
  const canvas = $('thumbhash');
  if (typeof d.thumbhash === 'string') {
    const { w, h, rgba } = thumbHashToRGBA(Uint8Array.from(atob(d.thumbhash), (ch) => ch.charCodeAt(0)));
    Object.assign(canvas, { width: w, height: h });
    canvas.getContext('2d').putImageData(new ImageData(new Uint8ClampedArray(rgba), w, h), 0, 0);
  }
  const dom = $('dominant');
  dom.style.backgroundColor = d.dominant ?? 'transparent';
  dom.setAttribute('aria-label', `dominant colour ${d.dominant}`);
}

async function showOriginal() {
  const img = $('original');
  const note = $('original-note');
  const key = keyInput.value.trim();
  $('original-facts').textContent = '';
  if (!key) return;
  if (cfg.originals === 'deny') {
    img.hidden = true;
    note.hidden = false;
    note.textContent = 'This server does not serve originals (KINU_ORIGINALS=deny).';
    return;
  }
  let path;
  try {
    path = nativeUrl({});
  } catch (err) {
    img.hidden = true;
    note.hidden = false;
    note.textContent = err.message;
    return;
  }
  img.hidden = false;
  note.hidden = true;
  img.alt = `Original: ${key}`;
  img.src = path;
  const head = await fetch(path, { method: 'HEAD' }).catch(() => undefined);
  if (!head?.ok) {
    img.hidden = true;
    note.hidden = false;
    note.textContent = head ? await problemOf(await fetch(path)) : 'the original could not be fetched';
    return;
  }
  const bytes = Number(head.headers.get('content-length'));
  const type = (head.headers.get('content-type') ?? '').split(';')[0];
  try {
    await img.decode();
    $('original-facts').textContent = `${img.naturalWidth} × ${img.naturalHeight} · ${type} · ${fmtBytes(bytes)}`;
  } catch {
    img.hidden = true;
    note.hidden = false;
    note.textContent = `your browser cannot show ${type}; kinu converts it (see the result)`;
    $('original-facts').textContent = `${type} · ${fmtBytes(bytes)}`;
  }
}

function setKey(key) {
  keyInput.value = key;
  const sample = $('sample');
  if (cfg.keys?.includes(key)) sample.value = key;
  showOriginal();
  schedule(0);
}

// Build the page.
const params = $('params');
for (const p of CONTROLS) params.append(buildControl(p));
if (cfg.keys?.length) {
  $('sample-row').hidden = false;
  $('sample').append(...cfg.keys.map((k) => el('option', { value: k, textContent: k })));
  $('sample').addEventListener('change', (e) => setKey(e.target.value));
} else {
  keyInput.placeholder = 'e.g. photos/cat.jpg';
}
keyInput.addEventListener('change', () => setKey(keyInput.value.trim()));
$('controls').addEventListener('submit', (e) => e.preventDefault());
$('controls').addEventListener('reset', (e) => {
  e.preventDefault();
  for (const i of inputs.values()) i.set('');
  schedule(0);
});
$('copy').addEventListener('click', async () => {
  const text = new URL($('url').getAttribute('href'), location.href).href;
  try {
    await navigator.clipboard.writeText(text);
    $('live').textContent = 'URL copied';
  } catch {
    getSelection().selectAllChildren($('url'));
  }
});

const state = new URLSearchParams(location.hash.slice(1));
for (const p of CONTROLS) if (state.has(p.name)) inputs.get(p.name).set(state.get(p.name));
if (!state.has('key')) inputs.get('w')?.set('400');
const first = state.get('key') ?? cfg.keys?.find((k) => /\.jpe?g$/i.test(k)) ?? cfg.keys?.[0];
if (first) setKey(first);
else showProblem('type the key of an image in the source');
