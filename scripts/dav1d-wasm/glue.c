// kinu's bridge to dav1d (AV1 decoding for AVIF sequences, src/pipeline/foreign/av1.ts): one decoder context,
// one temporal unit in, the picture it shows out, read through a small info array (no struct layout in JS).
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <dav1d/dav1d.h>

#define EXPORT __attribute__((used, visibility("default")))

typedef struct {
  Dav1dContext *ctx;
  Dav1dPicture pic;
  int have;
  // w, h, layout, bpc, stride Y, stride UV, plane Y, U, V, matrix, full range, primaries, transfer
  int32_t info[13];
} kd;

EXPORT void *kd_malloc(size_t n) { return malloc(n); }
EXPORT void kd_free(void *p) { free(p); }

/** A single-threaded decoder refusing frames over `max_pixels` (0: dav1d's own limit). */
EXPORT kd *kd_open(uint32_t max_pixels) {
  kd *k = calloc(1, sizeof *k);
  if (!k) return NULL;
  Dav1dSettings s;
  dav1d_default_settings(&s);
  s.n_threads = 1;
  s.max_frame_delay = 1;
  s.frame_size_limit = max_pixels;
  s.all_layers = 0;
  if (dav1d_open(&k->ctx, &s) < 0) {
    free(k);
    return NULL;
  }
  return k;
}

static void release(kd *k) {
  if (k->have) dav1d_picture_unref(&k->pic);
  k->have = 0;
}

EXPORT void kd_close(kd *k) {
  if (!k) return;
  release(k);
  dav1d_close(&k->ctx);
  free(k);
}

static void free_cb(const uint8_t *buf, void *cookie) {
  (void)cookie;
  free((void *)buf);
}

/** Decodes one sample (taking ownership of `buf`, from kd_malloc): 0 with a picture, else a negative errno. */
EXPORT int kd_decode(kd *k, uint8_t *buf, size_t n) {
  release(k);
  Dav1dData d = {0};
  if (dav1d_data_wrap(&d, buf, n, free_cb, NULL) < 0) {
    free(buf);
    return -12;
  }
  for (;;) {
    int r = dav1d_send_data(k->ctx, &d);
    if (r < 0 && r != DAV1D_ERR(EAGAIN)) {
      dav1d_data_unref(&d);
      return r;
    }
    int g = dav1d_get_picture(k->ctx, &k->pic);
    if (g == 0) {
      k->have = 1;
      dav1d_data_unref(&d);  // a sample showing more than one frame: the rest is not this frame
      return 0;
    }
    if (g != DAV1D_ERR(EAGAIN)) {
      dav1d_data_unref(&d);
      return g;
    }
    if (d.sz == 0) return DAV1D_ERR(EAGAIN);  // the sample showed no frame
  }
}

/** The current picture's shape, planes and colour description (see kd.info). */
EXPORT int32_t *kd_info(kd *k) {
  if (!k->have) return NULL;
  const Dav1dPicture *p = &k->pic;
  int32_t *i = k->info;
  i[0] = p->p.w;
  i[1] = p->p.h;
  i[2] = p->p.layout;
  i[3] = p->p.bpc;
  i[4] = (int32_t)p->stride[0];
  i[5] = (int32_t)p->stride[1];
  i[6] = (int32_t)(intptr_t)p->data[0];
  i[7] = (int32_t)(intptr_t)p->data[1];
  i[8] = (int32_t)(intptr_t)p->data[2];
  i[9] = p->seq_hdr ? (int32_t)p->seq_hdr->mtrx : 2;
  i[10] = p->seq_hdr ? p->seq_hdr->color_range : 0;
  i[11] = p->seq_hdr ? (int32_t)p->seq_hdr->pri : 2;
  i[12] = p->seq_hdr ? (int32_t)p->seq_hdr->trc : 2;
  return i;
}
