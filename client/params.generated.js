/** Largest output side the server writes, in pixels (after `dpr`). */
export const MAX_SIDE = 16384;
/** What each param accepts, read and probed from the server's validators; the key order is the URL order. */
export const PARAM_SPEC = {
    w: { kind: 'number', range: { min: 1, max: 8192, places: 0 } },
    h: { kind: 'number', range: { min: 1, max: 8192, places: 0 } },
    dpr: { kind: 'number', range: { min: 1, max: 4, places: 2 } },
    fit: { kind: 'enum', values: ['cover', 'contain', 'fill', 'inside', 'outside'] },
    pos: { kind: 'position', words: ['center', 'top', 'bottom', 'left', 'right', 'top-left', 'top-right', 'bottom-left', 'bottom-right', 'attention', 'entropy'], items: [{ min: 0, max: 1, places: 4 }, { min: 0, max: 1, places: 4 }] },
    enlarge: { kind: 'flag' },
    crop: { kind: 'list', counts: [4], items: [{ min: 0, max: 100000, places: 0 }, { min: 0, max: 100000, places: 0 }, { min: 1, max: 100000, places: 0 }, { min: 1, max: 100000, places: 0 }] },
    fmt: { kind: 'enum', values: ['jpeg', 'png', 'webp', 'avif', 'gif', 'auto', 'json'] },
    q: { kind: 'number', range: { min: 1, max: 100, places: 0 } },
    bg: { kind: 'colour', pattern: "^([0-9a-fA-F]{6}|[0-9a-fA-F]{8})$" },
    blur: { kind: 'number', range: { min: 0.3, max: 100, places: 2 } },
    sharpen: { kind: 'number', range: { min: 0.5, max: 10, places: 2 } },
    rot: { kind: 'enum', values: [0, 90, 180, 270] },
    flip: { kind: 'enum', values: ['h', 'v', 'hv'] },
    anim: { kind: 'flag' },
    trim: { kind: 'number', range: { min: 0, max: 255, places: 0 } },
    pad: { kind: 'list', counts: [1, 4], items: [{ min: 0, max: 4096, places: 0 }, { min: 0, max: 4096, places: 0 }, { min: 0, max: 4096, places: 0 }, { min: 0, max: 4096, places: 0 }] },
    wm: { kind: 'key' },
    wm_pos: { kind: 'enum', values: ['center', 'top', 'bottom', 'left', 'right', 'top-left', 'top-right', 'bottom-left', 'bottom-right'] },
    wm_opacity: { kind: 'number', range: { min: 0, max: 1, places: 4 } },
    wm_scale: { kind: 'number', range: { min: 0.0001, max: 1, places: 4 } },
    gray: { kind: 'flag' },
    pixelate: { kind: 'number', range: { min: 2, max: 100, places: 0 } },
    preset: { kind: 'string', pattern: "^[a-zA-Z0-9_-]{1,64}$" },
};
