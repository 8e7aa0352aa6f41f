// tfpipe's JPEG fast path: decode a JPEG file straight to the target size on
// tfpipe's own decode threads (see pool_t), with libjpeg-turbo scaling the inverse DCT by 1/2, 1/4
// or 1/8 when the image is that much larger than the target, and a
// Pillow-style antialiased bilinear resize (AVX2 where the CPU has it) for the rest. One job per image, no JavaScript per
// pixel.
//
// Anything that needs more than a plain decode is refused with a reason, and
// lib/image/decode.ts then decodes the file with sharp: files
// that are not JPEGs, CMYK/YCCK, an EXIF orientation other than 1, an embedded
// ICC profile (sharp converts it to sRGB), more pixels than maxPixels, and any
// libjpeg warning or error (truncated or corrupt data: sharp gives the error).
//
// decode(path, height, width, channels, fit, maxPixels) -> Promise<
//   { data: Uint8Array, height, width } | string (why the fast path declined) >
// height/width 0: the image's own size. channels 1 or 3. fit 0 fill, 1 cover.
// scale(src, dst, at, scale, offset): the sink's bytes-to-scaled-floats conversion
//   (see scale_fn), in this addon because it shares the AVX2 switch and the build.
// POSIX file calls (open, fstat, read) under -std=c11.
#define _POSIX_C_SOURCE 200809L
#define _GNU_SOURCE  // syscall(), setpriority(), pthread_setname_np()
#ifndef TFPIPE_JPEG_NO_NAPI
#include <node_api.h>
#include <pthread.h>
#endif
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <jpeglib.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#if defined(__linux__) && !defined(TFPIPE_JPEG_NO_NAPI)
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sched.h>
#endif
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define HAVE_AVX2_PATH 1
#endif

typedef struct {
  struct jpeg_error_mgr pub;
  jmp_buf jump;
  char reason[JMSG_LENGTH_MAX + 64];
} error_mgr;

static void on_error(j_common_ptr c) {
  error_mgr* e = (error_mgr*)c->err;
  char msg[JMSG_LENGTH_MAX];
  c->err->format_message(c, msg);
  snprintf(e->reason, sizeof e->reason, "libjpeg: %s", msg);
  longjmp(e->jump, 1);
}

static void on_message(j_common_ptr c, int level) {
  if (level >= 0) return;  // trace messages
  // A warning (corrupt or truncated data, which libjpeg would fill with grey): let sharp decide.
  error_mgr* e = (error_mgr*)c->err;
  char msg[JMSG_LENGTH_MAX];
  c->err->format_message(c, msg);
  snprintf(e->reason, sizeof e->reason, "libjpeg warning: %s", msg);
  longjmp(e->jump, 1);
}

typedef struct job_s {
#ifndef TFPIPE_JPEG_NO_NAPI
  struct job_s* next;  // in the decode threads' queue
  napi_deferred deferred;
#endif
  char* path;
  int want_h, want_w, channels, fit;
  double max_pixels;
  // Output: into `given` (a JS ArrayBuffer made before the job, when the size is known), else malloc'd.
#ifndef TFPIPE_JPEG_NO_NAPI
  napi_ref given_ref;
#endif
  uint8_t* given;
  size_t given_offset;  // of `given` in its ArrayBuffer
  // result
  uint8_t* data;
  int out_h, out_w;
  char reason[JMSG_LENGTH_MAX + 128];
  int planar;        // allowed to resize chroma at its own size (TFPIPE_JPEG_PLANAR=0 turns it off)
  int planar_active; // this image takes that path (set by start_scaled)
  int dct_fast;      // libjpeg's fast integer IDCT (JDCT_IFAST, tf.io.decode_jpeg's default) instead of the accurate one
#ifdef TFPIPE_JPEG_NO_NAPI
  int decode_only;  // bench/jpeg-timing.c: decode, skip the resize, leave data NULL
#endif
} job_t;

static uint16_t rd16(const uint8_t* p, int le) { return le ? (uint16_t)(p[0] | p[1] << 8) : (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t rd32(const uint8_t* p, int le) {
  return le ? (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24
            : (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

// EXIF orientation from an APP1 marker (1 when absent or unreadable).
static int exif_orientation(const uint8_t* d, unsigned len) {
  if (len < 14 || memcmp(d, "Exif\0\0", 6) != 0) return 1;
  const uint8_t* t = d + 6;
  unsigned n = len - 6;
  int le;
  if (t[0] == 'I' && t[1] == 'I') le = 1;
  else if (t[0] == 'M' && t[1] == 'M') le = 0;
  else return 1;
  uint32_t ifd = rd32(t + 4, le);
  if (ifd >= n || n - ifd < 2) return 1;
  unsigned count = rd16(t + ifd, le);
  for (unsigned i = 0; i < count; i++) {
    uint32_t e = ifd + 2 + i * 12;  // ifd < n <= 65535: no overflow
    if (e + 12 > n) return 1;
    if (rd16(t + e, le) == 0x0112) return rd16(t + e + 8, le);
  }
  return 1;
}

// Pillow's bilinear resample (triangle filter, support widened by the
// downscale factor: antialiased), as fixed-point weights per output pixel.
typedef struct { int* start; int* count; int32_t* w; int taps; } coeffs_t;
// 14-bit weights: a pair of them and a pair of pixels fit one 16-bit multiply-add.
#define PREC 14

// up2: the weights instead apply to a plane at half resolution (4:2:0 or 4:2:2 chroma, of
// plane_size samples) that libjpeg would have upsampled to in_size with its "fancy"
// (triangle) filter: upsampled pixel x = linear interpolation of the plane at (x + 0.5) / 2 - 0.5,
// edges repeated. Both filters are linear, so their composition is one set of weights per
// output over the plane's samples: the upsampling is skipped and the plane is resized as is.
static int make_coeffs2(coeffs_t* c, int in_size, double box0, double box1, int out_size, int up2, int plane_size) {
  double scale = (box1 - box0) / out_size;
  double filterscale = scale < 1.0 ? 1.0 : scale;
  double support = 1.0 * filterscale;
  int ktaps = (int)(support * 2 + 1) + 1;
  int taps = up2 ? ktaps / 2 + 3 : ktaps;
  c->taps = taps;
  c->start = malloc(sizeof(int) * out_size);
  c->count = malloc(sizeof(int) * out_size);
  c->w = malloc(sizeof(int32_t) * out_size * taps);
  double* k = malloc(sizeof(double) * (ktaps + taps));
  if (!c->start || !c->count || !c->w || !k) { free(k); return 0; }
  double* m = k + ktaps;
  for (int x = 0; x < out_size; x++) {
    double center = box0 + (x + 0.5) * scale;
    double ss = 1.0 / filterscale;
    int xmin = (int)(center - support + 0.5); if (xmin < 0) xmin = 0;
    int xmax = (int)(center + support + 0.5); if (xmax > in_size) xmax = in_size;
    xmax -= xmin;
    if (xmax > ktaps) xmax = ktaps;
    double ww = 0.0;
    for (int j = 0; j < xmax; j++) {
      double v = (j + xmin - center + 0.5) * ss;
      if (v < 0) v = -v;
      double t = v < 1.0 ? 1.0 - v : 0.0;
      k[j] = t;
      ww += t;
    }
    for (int j = 0; j < xmax; j++) k[j] = ww != 0.0 ? k[j] / ww : 0.0;
    int first = xmin, n = xmax;
    const double* src = k;
    if (up2) {
      // Spread each weight over the two plane samples the upsampled pixel interpolates.
      int lo = (int)floor((xmin + 0.5) / 2 - 0.5);
      if (lo < 0) lo = 0;
      if (lo > plane_size - 1) lo = plane_size - 1;
      for (int j = 0; j < taps; j++) m[j] = 0.0;
      int hi = lo;
      for (int j = 0; j < xmax; j++) {
        double u = (xmin + j + 0.5) / 2 - 0.5;
        int j0 = (int)floor(u);
        double f = u - j0;
        int a = j0 < 0 ? 0 : j0 > plane_size - 1 ? plane_size - 1 : j0;
        int b = j0 + 1 < 0 ? 0 : j0 + 1 > plane_size - 1 ? plane_size - 1 : j0 + 1;
        if (b - lo >= taps || a < lo) { free(k); return 0; }  // cannot happen: taps bounds the span
        m[a - lo] += k[j] * (1.0 - f);
        m[b - lo] += k[j] * f;
        if (b > hi) hi = b;
      }
      first = lo;
      n = hi - lo + 1;
      src = m;
    }
    for (int j = 0; j < taps; j++) {
      double v = j < n ? src[j] : 0.0;
      c->w[x * taps + j] = (int32_t)(v < 0 ? v * (1 << PREC) - 0.5 : v * (1 << PREC) + 0.5);
    }
    c->start[x] = first;
    c->count[x] = n;
  }
  free(k);
  return 1;
}

static int make_coeffs(coeffs_t* c, int in_size, double box0, double box1, int out_size) {
  return make_coeffs2(c, in_size, box0, box1, out_size, 0, 0);
}

static void free_coeffs(coeffs_t* c) { free(c->start); free(c->count); free(c->w); }

static inline uint8_t clip8(int32_t v) {
  v >>= PREC;
  return v < 0 ? 0 : v > 255 ? 255 : (uint8_t)v;
}

// The vertical pass for one output row: d = sum_j rows[j] * k[j], over `width` bytes
// (rows[j] are whole input rows, contiguous, so it vectorises).
static void vertical_row_c(const uint8_t* const* rows, int n, const int32_t* k, size_t width, uint8_t* d, int32_t* acc) {
  for (size_t x = 0; x < width; x++) acc[x] = 1 << (PREC - 1);
  for (int j = 0; j < n; j++) {
    const uint8_t* row = rows[j];
    int32_t kj = k[j];
    for (size_t x = 0; x < width; x++) acc[x] += row[x] * kj;
  }
  for (size_t x = 0; x < width; x++) d[x] = clip8(acc[x]);
}

#ifdef HAVE_AVX2_PATH
// The same with AVX2: 16 bytes at a time, two taps per 16-bit multiply-add
// (pixels of rows j and j+1 interleaved against the weight pair); 3-4x the
// speed of the compiler's vectorisation of the loop above.
__attribute__((target("avx2")))
static void vertical_row_avx2(const uint8_t* const* rows, int n, const int32_t* k, size_t width, uint8_t* d) {
  enum { MAX_PAIRS = 16 };
  int pairs = (n + 1) / 2;
  if (pairs > MAX_PAIRS) {  // a filter that wide: the plain loop
    for (size_t x = 0; x < width; x++) {
      int32_t v = 1 << (PREC - 1);
      for (int j = 0; j < n; j++) v += rows[j][x] * k[j];
      d[x] = clip8(v);
    }
    return;
  }
  {
    // The weight pairs and row pairs, made once per row (an odd last row is paired with itself at weight 0).
    __m256i w[MAX_PAIRS];
    const uint8_t* r[2 * MAX_PAIRS];
    for (int p = 0; p < pairs; p++) {
      int j = 2 * p;
      int32_t k1 = j + 1 < n ? k[j + 1] : 0;
      w[p] = _mm256_set1_epi32((int32_t)((uint32_t)k1 << 16 | ((uint32_t)k[j] & 0xFFFF)));
      r[j] = rows[j];
      r[j + 1] = j + 1 < n ? rows[j + 1] : rows[j];
    }
    const __m256i round = _mm256_set1_epi32(1 << (PREC - 1));
    size_t x = 0;
    for (; x + 16 <= width; x += 16) {
      __m256i lo = round, hi = round;
      for (int p = 0; p < pairs; p++) {
        __m128i a = _mm_loadu_si128((const __m128i*)(r[2 * p] + x));
        __m128i b = _mm_loadu_si128((const __m128i*)(r[2 * p + 1] + x));
        lo = _mm256_add_epi32(lo, _mm256_madd_epi16(_mm256_cvtepu8_epi16(_mm_unpacklo_epi8(a, b)), w[p]));
        hi = _mm256_add_epi32(hi, _mm256_madd_epi16(_mm256_cvtepu8_epi16(_mm_unpackhi_epi8(a, b)), w[p]));
      }
      lo = _mm256_srai_epi32(lo, PREC);
      hi = _mm256_srai_epi32(hi, PREC);
      __m256i q = _mm256_permute4x64_epi64(_mm256_packs_epi32(lo, hi), 0xD8);
      _mm_storeu_si128((__m128i*)(d + x), _mm_packus_epi16(_mm256_castsi256_si128(q), _mm256_extracti128_si256(q, 1)));
    }
    for (; x < width; x++) {
      int32_t v = 1 << (PREC - 1);
      for (int j = 0; j < n; j++) v += rows[j][x] * k[j];
      d[x] = clip8(v);
    }
  }
}
#endif

// Set once at load by init_simd.
static int use_avx2 = 0;

static void vertical_row(const uint8_t* const* rows, int n, const int32_t* k, size_t width, uint8_t* d, int32_t* acc) {
#ifdef HAVE_AVX2_PATH
  if (use_avx2) { vertical_row_avx2(rows, n, k, width, d); return; }
#endif
  vertical_row_c(rows, n, k, width, d, acc);
}

// The horizontal pass for output pixels [x0, x1) of one row: d pixel x = sum_j s pixel
// (start[x] + j) * w[x][j], per channel.
static void horizontal_px_c(const uint8_t* s, uint8_t* d, int x0, int x1, int ch, const coeffs_t* c) {
  for (int x = x0; x < x1; x++) {
    const int32_t* k = c->w + (size_t)x * c->taps;
    const uint8_t* p = s + (size_t)c->start[x] * ch;
    int n = c->count[x];
    for (int q = 0; q < ch; q++) {
      int32_t v = 1 << (PREC - 1);
      for (int j = 0; j < n; j++) v += p[j * ch + q] * k[j];
      d[(size_t)x * ch + q] = clip8(v);
    }
  }
}

// What the horizontal pass needs for a whole image, made once: the weights, and for
// RGB with AVX2 the same as 16-bit pairs in steps of four taps (zero past each pixel's
// count), with `safe`, how many output pixels (a prefix: start[] only grows) have all
// their 16-byte reads inside the row.
typedef struct { coeffs_t c; int16_t* w16; int steps, safe, dw, ch; } horizontal_t;

static void horizontal_plan(horizontal_t* h, int sw, int16_t* w16) {
  const coeffs_t* c = &h->c;
  h->w16 = NULL;
  h->steps = (c->taps + 3) / 4;
  h->safe = 0;
  if (!use_avx2 || h->ch != 3 || w16 == NULL) return;
  h->w16 = w16;
  for (int x = 0; x < h->dw; x++) {
    for (int t = 0; t < h->steps; t++) {
      for (int half = 0; half < 2; half++) {
        int j = t * 4 + half * 2;
        int16_t k0 = j < c->count[x] ? (int16_t)c->w[(size_t)x * c->taps + j] : 0;
        int16_t k1 = j + 1 < c->count[x] ? (int16_t)c->w[(size_t)x * c->taps + j + 1] : 0;
        int16_t* o = w16 + ((size_t)x * h->steps + t) * 16 + half * 8;
        for (int q = 0; q < 3; q++) { o[2 * q] = k0; o[2 * q + 1] = k1; }
        o[6] = o[7] = 0;
      }
    }
  }
  size_t row_n = (size_t)sw * 3;
  while (h->safe < h->dw && (size_t)c->start[h->safe] * 3 + (size_t)(h->steps - 1) * 12 + 16 <= row_n) h->safe++;
}

#ifdef HAVE_AVX2_PATH
// RGB with AVX2, two output pixels at a time and four taps per step: 16 source bytes
// (pixels j..j+3 and one more) are shuffled to r0 r1 g0 g1 b0 b1 . . | r2 r3 g2 g3 b2 b3 . .,
// widened to 16 bits and multiplied-added against the matching weight pairs; the halves
// are summed at the end. Returns the first pixel it left to the plain loop.
__attribute__((target("avx2")))
static int horizontal_rgb_avx2(const uint8_t* s, uint8_t* d, const horizontal_t* h) {
  const __m128i shuf = _mm_setr_epi8(0, 3, 1, 4, 2, 5, -1, -1, 6, 9, 7, 10, 8, 11, -1, -1);
  const __m256i round = _mm256_set1_epi32(1 << (PREC - 1));
  const int steps = h->steps;
  int x = 0;
  // x + 2 < dw: each pixel is stored as 4 bytes, the 4th overwritten by the next pixel.
  for (; x + 2 <= h->safe && x + 2 < h->dw; x += 2) {
    const uint8_t* pa = s + (size_t)h->c.start[x] * 3;
    const uint8_t* pb = s + (size_t)h->c.start[x + 1] * 3;
    const int16_t* wa = h->w16 + (size_t)x * steps * 16;
    const int16_t* wb = wa + steps * 16;
    __m256i a = _mm256_setzero_si256(), b = _mm256_setzero_si256();
    for (int t = 0; t < steps; t++) {
      __m128i xa = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i*)(pa + t * 12)), shuf);
      __m128i xb = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i*)(pb + t * 12)), shuf);
      a = _mm256_add_epi32(a, _mm256_madd_epi16(_mm256_cvtepu8_epi16(xa), _mm256_loadu_si256((const __m256i*)(wa + t * 16))));
      b = _mm256_add_epi32(b, _mm256_madd_epi16(_mm256_cvtepu8_epi16(xb), _mm256_loadu_si256((const __m256i*)(wb + t * 16))));
    }
    // [a.lo | b.lo] + [a.hi | b.hi] = [r g b . of a | r g b . of b]
    __m256i v = _mm256_add_epi32(_mm256_add_epi32(_mm256_permute2x128_si256(a, b, 0x20), _mm256_permute2x128_si256(a, b, 0x31)), round);
    v = _mm256_srai_epi32(v, PREC);
    v = _mm256_packus_epi16(_mm256_packs_epi32(v, v), v);  // per 128-bit lane, bytes 0-3: the pixel
    uint32_t ra = (uint32_t)_mm256_extract_epi32(v, 0), rb = (uint32_t)_mm256_extract_epi32(v, 4);
    memcpy(d + (size_t)x * 3, &ra, 4);
    memcpy(d + (size_t)x * 3 + 3, &rb, 4);
  }
  return x;
}
#endif

static void horizontal_row(const uint8_t* s, uint8_t* d, const horizontal_t* h) {
  int x = 0;
#ifdef HAVE_AVX2_PATH
  if (h->w16 != NULL) x = horizontal_rgb_avx2(s, d, h);
#endif
  horizontal_px_c(s, d, x, h->dw, h->ch, &h->c);
}

// One plane (one byte per sample) for the planar path. With AVX2 the horizontal pass
// takes `per` output samples per 128-bit lane (two lanes a step): when the taps of `per`
// consecutive samples all lie within 16 bytes of the first one's start, one 16-byte load
// per lane and one byte shuffle per step line up each sample's next 8 / per taps as
// 16-bit values against the matching weights, and one multiply-add sums them in pairs.
// per = 4 (downscales up to about 2.8x): one 32-bit sum per sample and step, no
// horizontal adds. per = 2 (up to about 5x): two per sample, added pairwise at the end.
// Per block of 2 * per samples b and step k, at (b * steps + k) * 32 bytes: the shuffle
// (`mask`) and the weights (`w16`, 16 of them), the low lane's samples first.
typedef struct { coeffs_t c; uint8_t* mask; int16_t* w16; int steps, per, dw, blocks; } hplane_t;

// Chooses `per` and the steps the AVX2 pass needs for this plane (steps 0: the plain
// loop does it all), and returns the bytes hplane_plan will write.
static size_t hplane_size(hplane_t* h) {
  const coeffs_t* c = &h->c;
  int most = 0;
  for (int x = 0; x < h->dw; x++) if (c->count[x] > most) most = c->count[x];
  h->steps = 0;
  for (h->per = 4; h->per >= 2; h->per /= 2) {
    int fits = 1;
    for (int x = 0; fits && x + h->per <= h->dw; x += h->per)
      if (c->start[x + h->per - 1] + c->count[x + h->per - 1] - c->start[x] > 16) fits = 0;
    if (fits) { h->steps = (most + 8 / h->per - 1) / (8 / h->per); break; }
  }
  h->blocks = h->steps > 0 ? h->dw / (2 * h->per) : 0;
  return (size_t)h->blocks * (size_t)h->steps * 64;
}

static void hplane_plan(hplane_t* h, uint8_t* mem) {
  const coeffs_t* c = &h->c;
  h->mask = NULL;
  h->w16 = NULL;
  if (!use_avx2 || mem == NULL || h->blocks == 0) { h->blocks = 0; return; }
  h->mask = mem;
  h->w16 = (int16_t*)(mem + (size_t)h->blocks * h->steps * 32);
  int taps = 8 / h->per;  // per sample and step
  for (int b = 0; b < h->blocks; b++) {
    for (int k = 0; k < h->steps; k++) {
      uint8_t* m = h->mask + ((size_t)b * h->steps + k) * 32;
      int16_t* w = h->w16 + ((size_t)b * h->steps + k) * 16;
      for (int lane = 0; lane < 2; lane++) {
        int x0 = (2 * b + lane) * h->per;
        for (int q = 0; q < h->per; q++) {
          int x = x0 + q;
          for (int t = 0; t < taps; t++) {
            int j = k * taps + t;
            int in = j < c->count[x];
            int v = lane * 8 + q * taps + t;  // the 16-bit value's index in the register
            m[2 * v] = in ? (uint8_t)(c->start[x] + j - c->start[x0]) : 0x80;
            m[2 * v + 1] = 0x80;  // zero high byte: the byte widened to 16 bits
            w[v] = in ? (int16_t)c->w[(size_t)x * c->taps + j] : 0;
          }
        }
      }
    }
  }
}

// Chroma keeps CFRAC fractional bits between its passes and into the colour conversion:
// rounded to whole bytes, its error (up to 0.5) would be multiplied by up to 1.772 there.
#define CFRAC 6

// The horizontal pass to 16-bit values with CFRAC fractional bits (no clipping needed: the
// weights are not negative, so the result stays within 0..255 << CFRAC, give or take the
// weights' rounding).
static void hplane16_c(const uint8_t* s, int16_t* d, int x0, const hplane_t* h) {
  const coeffs_t* c = &h->c;
  for (int x = x0; x < h->dw; x++) {
    const int32_t* k = c->w + (size_t)x * c->taps;
    const uint8_t* p = s + c->start[x];
    int32_t v = 1 << (PREC - CFRAC - 1);
    for (int j = 0; j < c->count[x]; j++) v += p[j] * k[j];
    d[x] = (int16_t)(v >> (PREC - CFRAC));
  }
}

#ifdef HAVE_AVX2_PATH
__attribute__((target("avx2")))
static int hplane16_avx2(const uint8_t* s, int16_t* d, const hplane_t* h) {
  const __m256i round = _mm256_set1_epi32(1 << (PREC - CFRAC - 1));
  const int steps = h->steps, per = h->per;
  const int* start = h->c.start;
  for (int b = 0; b < h->blocks; b++) {
    int x = 2 * per * b;
    __m256i src = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128((const __m128i*)(s + start[x]))),
                                          _mm_loadu_si128((const __m128i*)(s + start[x + per])), 1);
    const uint8_t* m = h->mask + (size_t)b * steps * 32;
    const int16_t* w = h->w16 + (size_t)b * steps * 16;
    __m256i acc = _mm256_setzero_si256();
    for (int k = 0; k < steps; k++) {
      __m256i v = _mm256_shuffle_epi8(src, _mm256_loadu_si256((const __m256i*)(m + k * 32)));
      acc = _mm256_add_epi32(acc, _mm256_madd_epi16(v, _mm256_loadu_si256((const __m256i*)(w + k * 16))));
    }
    if (per == 2) acc = _mm256_hadd_epi32(acc, acc);  // [s0 s0' s1 s1'] -> [s0 s1 s0 s1] per lane
    acc = _mm256_srai_epi32(_mm256_add_epi32(acc, round), PREC - CFRAC);
    acc = _mm256_packs_epi32(acc, acc);  // 16-bit values 0..per-1 of each lane: its samples
    if (per == 4) {
      int64_t lo = _mm256_extract_epi64(acc, 0), hi = _mm256_extract_epi64(acc, 2);
      memcpy(d + x, &lo, 8);
      memcpy(d + x + 4, &hi, 8);
    } else {
      int32_t lo = _mm256_extract_epi32(acc, 0), hi = _mm256_extract_epi32(acc, 4);
      memcpy(d + x, &lo, 4);
      memcpy(d + x + 2, &hi, 4);
    }
  }
  return 2 * per * h->blocks;
}

// The vertical pass over 16-bit rows: d = sum_j rows[j] * k[j], rounded back to CFRAC bits.
// Pairs of rows interleaved against the weight pair, 16 values a step.
__attribute__((target("avx2")))
static void vertical16_avx2(const int16_t* const* rows, int n, const int32_t* k, int width, int16_t* d) {
  const __m256i round = _mm256_set1_epi32(1 << (PREC - 1));
  int x = 0;
  for (; x + 16 <= width; x += 16) {
    __m256i lo = round, hi = round;
    for (int j = 0; j < n; j += 2) {
      __m256i a = _mm256_loadu_si256((const __m256i*)(rows[j] + x));
      __m256i b = j + 1 < n ? _mm256_loadu_si256((const __m256i*)(rows[j + 1] + x)) : _mm256_setzero_si256();
      int32_t k1 = j + 1 < n ? k[j + 1] : 0;
      __m256i w = _mm256_set1_epi32((int32_t)((uint32_t)k1 << 16 | ((uint32_t)k[j] & 0xFFFF)));
      lo = _mm256_add_epi32(lo, _mm256_madd_epi16(_mm256_unpacklo_epi16(a, b), w));
      hi = _mm256_add_epi32(hi, _mm256_madd_epi16(_mm256_unpackhi_epi16(a, b), w));
    }
    _mm256_storeu_si256((__m256i*)(d + x), _mm256_packs_epi32(_mm256_srai_epi32(lo, PREC), _mm256_srai_epi32(hi, PREC)));
  }
  for (; x < width; x++) {
    int32_t v = 1 << (PREC - 1);
    for (int j = 0; j < n; j++) v += rows[j][x] * k[j];
    d[x] = (int16_t)(v >> PREC);
  }
}
#endif

static void hplane16_row(const uint8_t* s, int16_t* d, const hplane_t* h) {
  int x = 0;
#ifdef HAVE_AVX2_PATH
  if (h->w16 != NULL) x = hplane16_avx2(s, d, h);
#endif
  hplane16_c(s, d, x, h);
}

static void vertical16(const int16_t* const* rows, int n, const int32_t* k, int width, int16_t* d) {
#ifdef HAVE_AVX2_PATH
  if (use_avx2) { vertical16_avx2(rows, n, k, width, d); return; }
#endif
  for (int x = 0; x < width; x++) {
    int32_t v = 1 << (PREC - 1);
    for (int j = 0; j < n; j++) v += rows[j][x] * k[j];
    d[x] = (int16_t)(v >> PREC);
  }
}

// YCbCr to RGB with libjpeg's coefficients (jdcolor.c: 16-bit fixed point), all three
// planes carrying CFRAC fractional bits: each channel is worked out at that precision and
// rounded once, at the end.
static void ycc_to_rgb_c(const int16_t* y, const int16_t* cb, const int16_t* cr, uint8_t* d, int x, int n) {
  const int32_t mid = 128 << CFRAC, fhalf = 1 << (CFRAC - 1);
  const int32_t r_cr = 91881, g_cb = -22554, g_cr = -46802, b_cb = 116130;  // FIX(1.402), -FIX(0.34414), -FIX(0.71414), FIX(1.772)
  for (; x < n; x++) {
    int32_t Y = y[x], u = cb[x] - mid, v = cr[x] - mid;
    int32_t r = (Y + ((r_cr * v + 32768) >> 16) + fhalf) >> CFRAC;
    int32_t g = (Y + ((g_cb * u + g_cr * v + 32768) >> 16) + fhalf) >> CFRAC;
    int32_t b = (Y + ((b_cb * u + 32768) >> 16) + fhalf) >> CFRAC;
    d[3 * x] = (uint8_t)(r < 0 ? 0 : r > 255 ? 255 : r);
    d[3 * x + 1] = (uint8_t)(g < 0 ? 0 : g > 255 ? 255 : g);
    d[3 * x + 2] = (uint8_t)(b < 0 ? 0 : b > 255 ? 255 : b);
  }
}

#ifdef HAVE_AVX2_PATH
// Output block k (bytes 16k..16k+15 of 16 RGB pixels) takes byte i from channel i % 3 of
// pixel i / 3: one byte shuffle per channel and block.
static uint8_t rgb_shuffle[3][3][16];

static void rgb_shuffle_init(void) {
  for (int k = 0; k < 3; k++)
    for (int i = 0; i < 16; i++)
      for (int c = 0; c < 3; c++) rgb_shuffle[k][c][i] = (uint8_t)((16 * k + i) % 3 == c ? (16 * k + i) / 3 : 0x80);
}

// 16 pixels a step: the same arithmetic in 32-bit lanes, then interleaved to RGB.
__attribute__((target("avx2")))
static int ycc_to_rgb_avx2(const int16_t* y, const int16_t* cb, const int16_t* cr, uint8_t* d, int n) {
  const __m256i half = _mm256_set1_epi32(32768), fhalf = _mm256_set1_epi32(1 << (CFRAC - 1)), mid = _mm256_set1_epi32(128 << CFRAC);
  const __m256i r_cr = _mm256_set1_epi32(91881), g_cb = _mm256_set1_epi32(-22554), g_cr = _mm256_set1_epi32(-46802), b_cb = _mm256_set1_epi32(116130);
  __m128i m[3][3];
  for (int k = 0; k < 3; k++) for (int c = 0; c < 3; c++) m[k][c] = _mm_loadu_si128((const __m128i*)rgb_shuffle[k][c]);
  int x = 0;
  for (; x + 16 <= n; x += 16) {
    __m256i rr[2], gg[2], bb[2];
    for (int h = 0; h < 2; h++) {
      __m256i Y = _mm256_add_epi32(_mm256_cvtepi16_epi32(_mm_loadu_si128((const __m128i*)(y + x + 8 * h))), fhalf);
      __m256i u = _mm256_sub_epi32(_mm256_cvtepi16_epi32(_mm_loadu_si128((const __m128i*)(cb + x + 8 * h))), mid);
      __m256i v = _mm256_sub_epi32(_mm256_cvtepi16_epi32(_mm_loadu_si128((const __m128i*)(cr + x + 8 * h))), mid);
      rr[h] = _mm256_srai_epi32(_mm256_add_epi32(Y, _mm256_srai_epi32(_mm256_add_epi32(_mm256_mullo_epi32(v, r_cr), half), 16)), CFRAC);
      gg[h] = _mm256_srai_epi32(_mm256_add_epi32(Y, _mm256_srai_epi32(_mm256_add_epi32(_mm256_add_epi32(_mm256_mullo_epi32(u, g_cb), _mm256_mullo_epi32(v, g_cr)), half), 16)), CFRAC);
      bb[h] = _mm256_srai_epi32(_mm256_add_epi32(Y, _mm256_srai_epi32(_mm256_add_epi32(_mm256_mullo_epi32(u, b_cb), half), 16)), CFRAC);
    }
    __m128i ch[3];
    __m256i* src[3] = { rr, gg, bb };
    for (int c = 0; c < 3; c++) {
      // 16 values in two registers to 16 bytes in order (the packs work per 128-bit lane).
      __m256i w = _mm256_permute4x64_epi64(_mm256_packs_epi32(src[c][0], src[c][1]), 0xD8);
      ch[c] = _mm_packus_epi16(_mm256_castsi256_si128(w), _mm256_extracti128_si256(w, 1));
    }
    for (int k = 0; k < 3; k++) {
      __m128i o = _mm_or_si128(_mm_or_si128(_mm_shuffle_epi8(ch[0], m[k][0]), _mm_shuffle_epi8(ch[1], m[k][1])), _mm_shuffle_epi8(ch[2], m[k][2]));
      _mm_storeu_si128((__m128i*)(d + (size_t)x * 3 + 16 * k), o);
    }
  }
  return x;
}
#endif

static void ycc_to_rgb(const int16_t* y, const int16_t* cb, const int16_t* cr, uint8_t* d, int n) {
  int x = 0;
#ifdef HAVE_AVX2_PATH
  if (use_avx2) x = ycc_to_rgb_avx2(y, cb, cr, d, n);
#endif
  ycc_to_rgb_c(y, cb, cr, d, x, n);
}

// Per-thread scratch memory, reused from image to image (fresh large
// allocations cost page faults on every image). Requests above 8 MB are
// allocated and freed each time instead, so one huge image does not pin memory.
#define SCRATCH_MAX ((size_t)8 << 20)
static _Thread_local struct { void* p; size_t n; } scratch[6];

static void* scratch_get(int slot, size_t n) {
  if (n > SCRATCH_MAX) return malloc(n);
  if (scratch[slot].n < n) {
    free(scratch[slot].p);
    scratch[slot].p = malloc(n);
    scratch[slot].n = scratch[slot].p ? n : 0;
  }
  return scratch[slot].p;
}

static void scratch_put(void* p, size_t n) {
  if (n > SCRATCH_MAX) free(p);
}

// After jpeg_read_header: refuses what the fast path leaves to sharp (job->reason set,
// returns 0), else works out the output size and the box (x, y, w, h: the part of the
// image that fills the output, in the decoded pixels), picks the DCT scale and starts
// decompressing. libjpeg errors longjmp to the caller's setjmp.
// How much of the reduction the resize keeps at least after a DCT scale (see start_scaled).
// Fixed in the addon; bench/jpeg-timing.c sets it (TFPIPE_JPEG_MIN_LEFT) to time other choices.
static double dct_min_left = 2.0;

static int start_scaled(job_t* job, struct jpeg_decompress_struct* cinfo, double box[4]) {
  for (jpeg_saved_marker_ptr m = cinfo->marker_list; m; m = m->next) {
    if (m->marker == JPEG_APP0 + 2 && m->data_length >= 12 && memcmp(m->data, "ICC_PROFILE", 12) == 0) {
      snprintf(job->reason, sizeof job->reason, "embedded ICC profile"); return 0;
    }
    if (m->marker == JPEG_APP0 + 1) {
      int o = exif_orientation(m->data, m->data_length);
      if (o != 1 && o != 0) { snprintf(job->reason, sizeof job->reason, "EXIF orientation %d", o); return 0; }
    }
  }
  if (cinfo->jpeg_color_space == JCS_CMYK || cinfo->jpeg_color_space == JCS_YCCK) {
    snprintf(job->reason, sizeof job->reason, "CMYK"); return 0;
  }
  if ((double)cinfo->image_width * cinfo->image_height > job->max_pixels) {
    snprintf(job->reason, sizeof job->reason, "more pixels than maxPixels"); return 0;
  }
  int iw = (int)cinfo->image_width, ih = (int)cinfo->image_height;
  int ow = job->want_w > 0 ? job->want_w : iw, oh = job->want_h > 0 ? job->want_h : ih;
  job->out_w = ow;
  job->out_h = oh;
  // The part of the image that fills the output: all of it (fill), or the centred box with the output's aspect (cover).
  box[0] = 0; box[1] = 0; box[2] = iw; box[3] = ih;
  if (job->fit == 1) {
    // As sharp does it: resize the whole image to cover the output (rounded to whole
    // pixels), then crop the centre at a whole-pixel offset. In source pixels:
    double s = (double)ow / iw > (double)oh / ih ? (double)ow / iw : (double)oh / ih;
    int rw = (int)(iw * s + 0.5), rh = (int)(ih * s + 0.5);
    if (rw < ow) rw = ow;
    if (rh < oh) rh = oh;
    double sx = (double)rw / iw, sy = (double)rh / ih;
    int ox = (rw - ow + 1) / 2, oy = (rh - oh + 1) / 2;
    box[0] = ox / sx; box[1] = oy / sy; box[2] = ow / sx; box[3] = oh / sy;
  }
  // Smallest DCT scale of 1/2, 1/4 or 1/8 that leaves the box at least twice the
  // output, so the antialiased resize still does the last 2x or more: scaling in the
  // DCT domain closer to the target was visibly off Pillow's result (512x512 -> 224
  // at 1/2: mean error 1.05 per value against 0.18 for sharp, which decodes it in full).
  // libjpeg-turbo also scales by 3/8, 5/8..7/8, but without SIMD: 500x375 -> 224
  // at 5/8 took 1.34 ms per image against 1.20 ms for a full decode and the resize.
  int num = 8;
  while (num > 1 && box[2] * (num / 2) / 8 >= dct_min_left * ow && box[3] * (num / 2) / 8 >= dct_min_left * oh) num /= 2;
  cinfo->scale_num = (unsigned)num;
  cinfo->scale_denom = 8;
  cinfo->out_color_space = job->channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
  // Chroma stored at half width (4:2:0, 4:2:2), decoded at full size and resized both ways:
  // take libjpeg's planes as stored and resize the chroma at its own size (decode_planar).
  job->planar_active = 0;
  if (job->planar && num == 8 && job->channels == 3 && cinfo->jpeg_color_space == JCS_YCbCr && cinfo->num_components == 3 &&
      !(ih == oh && box[1] == 0 && box[3] == ih) && !(iw == ow && box[0] == 0 && box[2] == iw)) {
    const jpeg_component_info* c = cinfo->comp_info;
    int hmax = cinfo->max_h_samp_factor, vmax = cinfo->max_v_samp_factor;
    if (c[0].h_samp_factor == hmax && c[0].v_samp_factor == vmax &&
        c[1].h_samp_factor == c[2].h_samp_factor && c[1].v_samp_factor == c[2].v_samp_factor &&
        c[1].h_samp_factor * 2 == hmax && (c[1].v_samp_factor * 2 == vmax || c[1].v_samp_factor == vmax) &&
        (iw + 1) / 2 > 2) {  // libjpeg's triangle upsampling, which the weights reproduce, needs more than 2 samples a row
      job->planar_active = 1;
      cinfo->raw_data_out = TRUE;
      cinfo->out_color_space = JCS_YCbCr;
    }
  }
  cinfo->dct_method = job->dct_fast ? JDCT_IFAST : JDCT_ISLOW;
  jpeg_start_decompress(cinfo);
  if ((int)cinfo->output_components != job->channels) {
    snprintf(job->reason, sizeof job->reason, "unexpected %d components", cinfo->output_components); return 0;
  }
  // The box in scaled coordinates (libjpeg rounds the scaled size up).
  double fx = (double)cinfo->output_width / iw, fy = (double)cinfo->output_height / ih;
  box[0] *= fx; box[2] *= fx; box[1] *= fy; box[3] *= fy;
  return 1;
}

// The file's bytes, read whole into scratch slot 4 (one open, fstat, read and close:
// libjpeg's stdio source reads 4 KB at a time), or data NULL with job->reason set.
typedef struct { uint8_t* data; size_t n; } file_t;
#define FILE_MAX ((size_t)256 << 20)

// Not inlined into decode_job: its locals would then share a frame with setjmp (-Wclobbered).
__attribute__((noinline)) static file_t read_jpeg_file(job_t* job) {
  file_t r = { NULL, 0 };
  int fd = open(job->path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) { snprintf(job->reason, sizeof job->reason, "cannot open"); return r; }
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size < 2 || (size_t)st.st_size > FILE_MAX) {
    close(fd);
    snprintf(job->reason, sizeof job->reason, "not a regular file of 2 bytes to 256 MB");
    return r;
  }
  size_t n = (size_t)st.st_size, got = 0;
  uint8_t* data = scratch_get(4, n);
  if (!data) { close(fd); snprintf(job->reason, sizeof job->reason, "out of memory"); return r; }
  while (got < n) {
    ssize_t k = read(fd, data + got, n - got);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) break;
    got += (size_t)k;
  }
  close(fd);
  if (got < 2 || data[0] != 0xFF || data[1] != 0xD8) {
    scratch_put(data, n);
    snprintf(job->reason, sizeof job->reason, got < n ? "cannot read" : "not a JPEG");
    return r;
  }
  r.data = data;
  r.n = got;
  return r;
}

// Reads the JPEG header, with the markers start_scaled looks at.
static void setup_source(struct jpeg_decompress_struct* cinfo, const file_t* file) {
  jpeg_mem_src(cinfo, file->data, (unsigned long)file->n);
  jpeg_save_markers(cinfo, JPEG_APP0 + 1, 0xFFFF);
  jpeg_save_markers(cinfo, JPEG_APP0 + 2, 0xFFFF);
  jpeg_read_header(cinfo, TRUE);
}

// Once, before any decode: the CPU has AVX2 and TFPIPE_JPEG_SIMD is not "0" (the spec sets
// it to check that the portable code, what non-x86 machines run, gives the same bytes).
static void init_simd(void) {
#ifdef HAVE_AVX2_PATH
  const char* simd = getenv("TFPIPE_JPEG_SIMD");
  use_avx2 = __builtin_cpu_supports("avx2") != 0 && !(simd != NULL && strcmp(simd, "0") == 0);
  rgb_shuffle_init();
#endif
}

// The planar path's weights for one geometry (the sizes, the box, the chroma layout),
// made once per pool thread and kept while the images keep that geometry, as a data
// set's images mostly do: made for every image, they took 3% of a fit's CPU.
typedef struct {
  int valid;
  int key[7];
  double box[4];
  coeffs_t vy, vc;  // vertical: luma rows, chroma rows
  hplane_t hy, hc;  // horizontal: luma, chroma
  uint8_t* plans;   // the AVX2 passes' shuffles and weights
} planar_weights_t;

static _Thread_local planar_weights_t weights_cache;

static void weights_free(planar_weights_t* w) {
  free_coeffs(&w->vy);
  free_coeffs(&w->vc);
  free_coeffs(&w->hy.c);
  free_coeffs(&w->hc.c);
  free(w->plans);
  memset(w, 0, sizeof *w);
}

static const planar_weights_t* planar_weights(int iw, int ih, int cw, int chh, int ow, int oh, int half_h, const double box[4]) {
  planar_weights_t* w = &weights_cache;
  int key[7] = { iw, ih, cw, chh, ow, oh, half_h };
  if (w->valid && memcmp(key, w->key, sizeof key) == 0 && memcmp(box, w->box, sizeof w->box) == 0) return w;
  weights_free(w);
  if (!make_coeffs2(&w->vy, ih, box[1], box[1] + box[3], oh, 0, 0) ||
      !make_coeffs2(&w->vc, ih, box[1], box[1] + box[3], oh, half_h, chh) ||
      !make_coeffs2(&w->hy.c, iw, box[0], box[0] + box[2], ow, 0, 0) ||
      !make_coeffs2(&w->hc.c, iw, box[0], box[0] + box[2], ow, 1, cw)) {
    weights_free(w);
    return NULL;
  }
  w->hy.dw = w->hc.dw = ow;
  size_t ny = hplane_size(&w->hy), nc = hplane_size(&w->hc);
  w->plans = malloc(ny + nc + 32);
  if (!w->plans) { weights_free(w); return NULL; }
  hplane_plan(&w->hy, w->plans);
  hplane_plan(&w->hc, w->plans + ny);
  memcpy(w->key, key, sizeof key);
  memcpy(w->box, box, sizeof w->box);
  w->valid = 1;
  return w;
}

// The planar path's scratch block (slot 5): the rows of one read, the rings, the rows
// between passes and the pointer arrays. Owned by decode_job, which gives it back whether
// decode_planar returns or libjpeg longjmps out of it.
typedef struct {
  uint8_t* block;
  size_t block_n;
} planar_t;

static void planar_free(planar_t* p) {
  if (p->block) scratch_put(p->block, p->block_n);
}

static uint8_t* carve(uint8_t** at, size_t n) {
  uint8_t* r = *at;
  *at += (n + 31) & ~(size_t)31;
  return r;
}

// For YCbCr with chroma at half width (and half or full height), after start_scaled set
// raw_data_out: libjpeg hands over the planes as stored (jpeg_read_raw_data, one iMCU row
// of 8 or 16 lines a call), and each plane is resized on its own, with the weights of the
// RGB path for luma and those weights composed with libjpeg's triangle upsampling for
// chroma (make_coeffs2); then each output row is converted to RGB with libjpeg's
// coefficients. This skips libjpeg's upsampling and colour conversion at full size, and
// resizes two of the three channels at a quarter (or half) of the samples.
// Each plane: the horizontal pass on each row as libjpeg hands it over, into a ring of
// 16-bit rows with CFRAC fractional bits, then the vertical pass over the ring, still
// 16-bit, into the conversion, which rounds once: nothing is rounded to bytes on the
// way, where libjpeg's RGB output has already rounded the upsampled chroma and the
// converted values. The result differs from upsample-convert-resize by those roundings
// and where the conversion clips (saturated colours). Returns 0 with job->reason set,
// or 1 with `out` written.
static int decode_planar(job_t* job, struct jpeg_decompress_struct* cinfo, const double box[4], planar_t* p, uint8_t* out) {
  const jpeg_component_info* comp = cinfo->comp_info;
  int iw = (int)cinfo->output_width, ih = (int)cinfo->output_height, ow = job->out_w, oh = job->out_h;
  int cw = (int)comp[1].downsampled_width, chh = (int)comp[1].downsampled_height;
  int half_h = comp[1].v_samp_factor * 2 == cinfo->max_v_samp_factor;
  const planar_weights_t* W = planar_weights(iw, ih, cw, chh, ow, oh, half_h, box);
  if (!W) { snprintf(job->reason, sizeof job->reason, "out of memory"); return 0; }
  int ly = comp[0].v_samp_factor * DCTSIZE, lc = comp[1].v_samp_factor * DCTSIZE;  // rows per read
  // What libjpeg writes per row, and the 16 bytes the horizontal pass may read past it.
  size_t sy = (size_t)comp[0].width_in_blocks * DCTSIZE + 16, sc = (size_t)comp[1].width_in_blocks * DCTSIZE + 16;
  int ry = W->vy.taps + 2 * ly + 4, rc = W->vc.taps + 2 * lc + 4;  // ring rows: the filter's span and two reads
  int span = W->vy.taps > W->vc.taps ? W->vy.taps : W->vc.taps;
  size_t sizes[] = {
    sy * (size_t)ly, sc * (size_t)lc * 2,                         // the rows of one read: luma, chroma
    sizeof(int16_t) * (size_t)ow * (size_t)(ry + 2 * rc),        // rings (after the horizontal pass): luma, chroma
    sizeof(int16_t) * (size_t)ow * 3,                            // rows after both passes: luma, chroma
    sizeof(void*) * (size_t)span, sizeof(JSAMPROW) * (size_t)(ly + 2 * lc),
  };
  size_t total = 0;
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) total += (sizes[i] + 31) & ~(size_t)31;
  p->block = scratch_get(5, total + 32);
  if (!p->block) { snprintf(job->reason, sizeof job->reason, "out of memory"); return 0; }
  p->block_n = total + 32;
  uint8_t* at = (uint8_t*)(((uintptr_t)p->block + 31) & ~(uintptr_t)31);
  uint8_t* raw_y = carve(&at, sizes[0]);
  uint8_t* raw_cb = carve(&at, sizes[1]);
  uint8_t* raw_cr = raw_cb + sc * (size_t)lc;
  int16_t* ring_y = (int16_t*)carve(&at, sizes[2]);
  int16_t* ring_cb = ring_y + (size_t)ow * ry;
  int16_t* ring_cr = ring_cb + (size_t)ow * rc;
  int16_t* row_y = (int16_t*)carve(&at, sizes[3]);
  int16_t* row_cb = row_y + ow;
  int16_t* row_cr = row_cb + ow;
  const int16_t** ptrs = (const int16_t**)carve(&at, sizes[4]);
  JSAMPROW* rows = (JSAMPROW*)carve(&at, sizes[5]);
  // What the horizontal passes read past a row's samples (at weight 0): defined.
  memset(raw_y, 0, sizes[0]);
  memset(raw_cb, 0, sizes[1]);
  JSAMPARRAY planes[3] = { rows, rows + ly, rows + ly + lc };
  for (int i = 0; i < ly; i++) planes[0][i] = raw_y + (size_t)i * sy;
  for (int i = 0; i < lc; i++) { planes[1][i] = raw_cb + (size_t)i * sc; planes[2][i] = raw_cr + (size_t)i * sc; }
  long ready_y = 0, ready_c = 0;  // rows of each plane read so far
  for (int y = 0; y < oh; y++) {
    int loy = W->vy.start[y], ny = W->vy.count[y], loc = W->vc.start[y], nc = W->vc.count[y];
    while (ready_y < loy + ny || ready_c < loc + nc) {
      if (cinfo->output_scanline >= cinfo->output_height) { snprintf(job->reason, sizeof job->reason, "libjpeg returned no rows"); return 0; }
      if (jpeg_read_raw_data(cinfo, planes, (JDIMENSION)ly) == 0) { snprintf(job->reason, sizeof job->reason, "libjpeg returned no rows"); return 0; }
      for (int i = 0; i < ly && ready_y + i < ih; i++) hplane16_row(raw_y + (size_t)i * sy, ring_y + (size_t)((ready_y + i) % ry) * ow, &W->hy);
      for (int i = 0; i < lc && ready_c + i < chh; i++) {
        size_t slot = (size_t)((ready_c + i) % rc) * ow;
        hplane16_row(raw_cb + (size_t)i * sc, ring_cb + slot, &W->hc);
        hplane16_row(raw_cr + (size_t)i * sc, ring_cr + slot, &W->hc);
      }
      ready_y += ly;
      ready_c += lc;
    }
    // Every row the filters need is still in its ring (the ring sizes make sure of it).
    if (loy < ready_y - ry || loc < ready_c - rc) { snprintf(job->reason, sizeof job->reason, "internal: ring too small"); return 0; }
    for (int j = 0; j < ny; j++) ptrs[j] = ring_y + (size_t)((loy + j) % ry) * ow;
    vertical16(ptrs, ny, W->vy.w + (size_t)y * W->vy.taps, ow, row_y);
    const int32_t* kc = W->vc.w + (size_t)y * W->vc.taps;
    for (int j = 0; j < nc; j++) ptrs[j] = ring_cb + (size_t)((loc + j) % rc) * ow;
    vertical16(ptrs, nc, kc, ow, row_cb);
    for (int j = 0; j < nc; j++) ptrs[j] = ring_cr + (size_t)((loc + j) % rc) * ow;
    vertical16(ptrs, nc, kc, ow, row_cr);
    ycc_to_rgb(row_y, row_cb, row_cr, out + (size_t)y * ow * 3, ow);
  }
  // The rows below a cover box: read, so that libjpeg checks the whole file.
  while (cinfo->output_scanline < cinfo->output_height) {
    if (jpeg_read_raw_data(cinfo, planes, (JDIMENSION)ly) == 0) { snprintf(job->reason, sizeof job->reason, "libjpeg returned no rows"); return 0; }
  }
  return 1;
}

// Decodes and resizes row by row, each pass rounding to bytes as Pillow's does: the
// scanlines go into a ring of as many rows as the vertical filter spans; each output
// row is the vertical pass over the rows it needs (whole rows, contiguous, so it
// vectorises), then the horizontal pass along it. The decoded image is never held
// whole, so what the passes read is still in cache. (Pillow runs the horizontal pass
// first; the results differ by at most 1 per value.)
static void decode_job(job_t* job) {
  struct jpeg_decompress_struct cinfo;
  error_mgr err;
  double box[4];
  // Set after setjmp and read after a longjmp: volatile.
  uint8_t* volatile out = NULL;
  uint8_t* volatile ring = NULL;
  uint8_t* volatile mid = NULL;
  int32_t* volatile acc = NULL;
  int16_t* volatile w16 = NULL;
  const uint8_t** volatile ptrs = NULL;
  volatile size_t ring_n = 0, mid_n = 0, acc_n = 0, w16_n = 0;
  volatile int created = 0;
  coeffs_t cv = {0};
  horizontal_t hz = {0};
  planar_t pl = {0};
  file_t file = read_jpeg_file(job);
  if (!file.data) return;
  cinfo.err = jpeg_std_error(&err.pub);
  err.pub.error_exit = on_error;
  err.pub.emit_message = on_message;
  err.reason[0] = 0;
  if (setjmp(err.jump)) {
    snprintf(job->reason, sizeof job->reason, "%s", err.reason);
    goto done;
  }
  jpeg_create_decompress(&cinfo);
  created = 1;
  setup_source(&cinfo, &file);
  if (!start_scaled(job, &cinfo, box)) goto done;
#ifdef TFPIPE_JPEG_NO_NAPI
  if (job->decode_only && job->planar_active) {  // the planes read and dropped
    pl.block_n = (size_t)cinfo.comp_info[0].width_in_blocks * DCTSIZE * 48;
    pl.block = scratch_get(5, pl.block_n);
    if (!pl.block) goto oom;
    int ly = cinfo.comp_info[0].v_samp_factor * DCTSIZE, lc = cinfo.comp_info[1].v_samp_factor * DCTSIZE;
    size_t sy = (size_t)cinfo.comp_info[0].width_in_blocks * DCTSIZE;
    JSAMPROW r[48];
    for (int i = 0; i < ly + 2 * lc; i++) r[i] = pl.block + (size_t)i * sy;
    JSAMPARRAY planes[3] = { r, r + ly, r + ly + lc };
    while (cinfo.output_scanline < cinfo.output_height) {
      if (jpeg_read_raw_data(&cinfo, planes, (JDIMENSION)ly) == 0) { snprintf(job->reason, sizeof job->reason, "libjpeg returned no rows"); goto done; }
    }
    jpeg_finish_decompress(&cinfo);
    goto done;
  }
  if (job->decode_only) {  // bench/jpeg-timing.c times the decode alone: scanlines read and dropped
    ring_n = (size_t)cinfo.output_width * (size_t)job->channels;
    ring = scratch_get(0, ring_n);
    if (!ring) goto oom;
    while (cinfo.output_scanline < cinfo.output_height) {
      JSAMPROW row = ring;
      if (jpeg_read_scanlines(&cinfo, &row, 1) != 1) { snprintf(job->reason, sizeof job->reason, "libjpeg returned no scanline"); goto done; }
    }
    jpeg_finish_decompress(&cinfo);
    goto done;
  }
#endif
  if (job->planar_active) {
    out = job->given != NULL ? job->given : malloc((size_t)job->out_w * 3 * job->out_h);
    if (!out) goto oom;
    if (!decode_planar(job, &cinfo, box, &pl, out)) goto done;
    jpeg_finish_decompress(&cinfo);
    job->data = out;
    out = NULL;
    goto done;
  }
  int sw = (int)cinfo.output_width, sh = (int)cinfo.output_height, ch = job->channels;
  int ow = job->out_w, oh = job->out_h;
  size_t row_n = (size_t)sw * ch, out_row = (size_t)ow * ch;
  int need_v = !(sh == oh && box[1] == 0 && box[3] == sh);
  int need_h = !(sw == ow && box[0] == 0 && box[2] == sw);
  if (need_v && !make_coeffs(&cv, sh, box[1], box[1] + box[3], oh)) goto oom;
  if (need_h) {
    hz.dw = ow;
    hz.ch = ch;
    if (!make_coeffs(&hz.c, sw, box[0], box[0] + box[2], ow)) goto oom;
    w16_n = sizeof(int16_t) * 16 * (size_t)ow * (size_t)((hz.c.taps + 3) / 4);
    w16 = ch == 3 && use_avx2 ? scratch_get(2, w16_n) : NULL;
    if (ch == 3 && use_avx2 && !w16) goto oom;
    horizontal_plan(&hz, sw, w16);
  }
  int ring_rows = need_v ? cv.taps : 1;
  ring_n = row_n * (size_t)ring_rows;
  ring = scratch_get(0, ring_n);
  mid_n = need_v && need_h ? row_n : 0;
  mid = mid_n ? scratch_get(1, mid_n) : NULL;
  acc_n = need_v ? sizeof(int32_t) * row_n : 0;
  acc = acc_n ? scratch_get(3, acc_n) : NULL;
  ptrs = malloc(sizeof(uint8_t*) * (size_t)ring_rows);
  out = job->given != NULL ? job->given : malloc(out_row * oh);
  if (!ring || (mid_n && !mid) || (acc_n && !acc) || !ptrs || !out) goto oom;
  int next = 0;  // the next scanline to read
  for (int y = 0; y < oh; y++) {
    int lo = need_v ? cv.start[y] : y, n = need_v ? cv.count[y] : 1;
    while (next < lo + n) {
      JSAMPROW row = ring + (size_t)(next % ring_rows) * row_n;
      if (jpeg_read_scanlines(&cinfo, &row, 1) != 1) { snprintf(job->reason, sizeof job->reason, "libjpeg returned no scanline"); goto done; }
      next++;
    }
    uint8_t* d = out + (size_t)y * out_row;
    const uint8_t* src = ring + (size_t)(lo % ring_rows) * row_n;
    if (need_v) {
      for (int j = 0; j < n; j++) ptrs[j] = ring + (size_t)((lo + j) % ring_rows) * row_n;
      vertical_row(ptrs, n, cv.w + (size_t)y * cv.taps, row_n, need_h ? mid : d, acc);
      src = mid;
    }
    if (need_h) horizontal_row(src, d, &hz);
    else if (!need_v) memcpy(d, src, out_row);
  }
  // The rows below a cover box: read, so that libjpeg checks the whole file.
  while ((int)cinfo.output_scanline < sh) {
    JSAMPROW row = ring;
    if (jpeg_read_scanlines(&cinfo, &row, 1) != 1) { snprintf(job->reason, sizeof job->reason, "libjpeg returned no scanline"); goto done; }
  }
  jpeg_finish_decompress(&cinfo);
  job->data = out;
  out = NULL;
  goto done;
oom:
  snprintf(job->reason, sizeof job->reason, "out of memory");
done:
  if (created) jpeg_destroy_decompress(&cinfo);
  scratch_put(file.data, file.n);
  free_coeffs(&cv);
  free_coeffs(&hz.c);
  planar_free(&pl);
  free((void*)ptrs);
  if (out != NULL && out != job->given) free(out);
  if (ring) scratch_put(ring, ring_n);
  if (mid) scratch_put(mid, mid_n);
  if (acc) scratch_put(acc, acc_n);
  if (w16) scratch_put(w16, w16_n);
}

// Bytes to floats, scaled per channel: dst[i] = src[i] * scale[c] (+ offset[c]), c the
// channel of element at + i (of channels). The same two float32 roundings as the
// TensorFlow multiply and add the sink otherwise runs (no fused multiply-add: the
// build passes -ffp-contract=off), so the values are bit for bit the same.
static void scale_bytes_c(const uint8_t* src, size_t n, float* dst, size_t at, const float* scale, const float* offset, int channels) {
  for (size_t i = 0; i < n; i++) {
    int c = (int)((at + i) % (size_t)channels);
    float v = (float)src[i] * scale[c];
    if (offset) v = v + offset[c];
    dst[i] = v;
  }
}

#ifdef HAVE_AVX2_PATH
// With AVX2, 24 values per step (a multiple of 8 lanes and of 1 or 3 channels).
__attribute__((target("avx2")))
static void scale_bytes_avx2(const uint8_t* src, size_t n, float* dst, size_t at, const float* scale, const float* offset, int channels) {
  __m256 s[3], o[3];
  for (int v = 0; v < 3; v++) {
    float sv[8], ov[8];
    for (int l = 0; l < 8; l++) {
      int c = (int)((at + (size_t)v * 8 + (size_t)l) % (size_t)channels);
      sv[l] = scale[c];
      ov[l] = offset ? offset[c] : 0.0f;
    }
    s[v] = _mm256_loadu_ps(sv);
    o[v] = _mm256_loadu_ps(ov);
  }
  size_t i = 0;
  for (; i + 24 <= n; i += 24) {
    for (int v = 0; v < 3; v++) {
      __m256 f = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i*)(src + i + (size_t)v * 8))));
      f = _mm256_mul_ps(f, s[v]);
      if (offset) f = _mm256_add_ps(f, o[v]);
      _mm256_storeu_ps(dst + i + (size_t)v * 8, f);
    }
  }
  scale_bytes_c(src + i, n - i, dst + i, at + i, scale, offset, channels);
}
#endif

#ifndef TFPIPE_JPEG_NO_NAPI
// The N-API side (left out when bench/jpeg-timing.c includes this file).
static void free_data(napi_env env, void* data, void* hint) { (void)env; (void)hint; free(data); }

// What a job holds outside JavaScript: freed from any thread (its promise and its
// reference to `given` are left to the environment, which is going away).
static void job_free_native(job_t* job) {
  if (job->given == NULL) free(job->data);
  free(job->path);
  free(job);
}

// On the main thread: resolves the job's promise and frees the job.
static void finish(napi_env env, job_t* job) {
  napi_value result;
  if (job->data == NULL) {
    napi_create_string_utf8(env, job->reason[0] ? job->reason : "declined", NAPI_AUTO_LENGTH, &result);
  } else {
    size_t len = (size_t)job->out_h * job->out_w * job->channels;
    napi_value ab, arr, h, w;
    if (job->given != NULL) {
      napi_get_reference_value(env, job->given_ref, &ab);
    } else if (napi_create_external_arraybuffer(env, job->data, len, free_data, NULL, &ab) == napi_ok) {
      job->data = NULL;  // the ArrayBuffer owns it now
    } else {
      // Runtimes that forbid external buffers: copy (job_free_native frees ours).
      void* copy;
      napi_create_arraybuffer(env, len, &copy, &ab);
      memcpy(copy, job->data, len);
    }
    // A plain Uint8Array (not a Buffer), like the arrays sharp's path gives: collate checks kinds.
    napi_create_typedarray(env, napi_uint8_array, len, ab, job->given != NULL ? job->given_offset : 0, &arr);
    napi_create_int32(env, job->out_h, &h);
    napi_create_int32(env, job->out_w, &w);
    napi_create_object(env, &result);
    napi_set_named_property(env, result, "data", arr);
    napi_set_named_property(env, result, "height", h);
    napi_set_named_property(env, result, "width", w);
  }
  napi_resolve_deferred(env, job->deferred, result);
  if (job->given_ref != NULL) napi_delete_reference(env, job->given_ref);
  job_free_native(job);
}

// The decode threads: tfpipe's own rather than libuv's pool, so that they can run
// at a lower priority than the main thread and TensorFlow's threads (a nice value
// above theirs, which a thread cannot take back, so not on libuv's threads, which
// every file, zlib and crypto call shares). When a model trains, the main thread
// dispatches its ops and TensorFlow's threads run them: the critical path of each
// step. Decodes then take the cores those leave idle instead of slowing each step
// (docs/performance.md, "Decodes on threads of their own"). One pool per Node environment (the main thread
// and each worker thread that decodes), started at its first decode; finished
// jobs go back to the main thread through a thread-safe function.
#define POOL_MAX 64
#define DECODE_NICE 19  // the default (see pool_get)
#define NICE_IDLE -1
typedef struct {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  pthread_cond_t ready;  // signalled as each thread has its name and priority
  job_t* head;
  job_t* tail;
  int stopping;
  int started;   // threads that have their name and priority
  int n;         // threads running
  int nice;      // added to the main thread's nice value, or NICE_IDLE
  pthread_t threads[POOL_MAX];
  napi_threadsafe_function done;
  size_t pending;  // main thread only: jobs queued, running or not yet delivered
} pool_t;

// Per environment: the pool, once started.
typedef struct { pool_t* pool; } env_state_t;

// An integer from the environment within [lo, hi], else fallback.
static int env_int(const char* name, int fallback, int lo, int hi) {
  const char* v = getenv(name);
  if (v == NULL || *v == 0) return fallback;
  char* end;
  long n = strtol(v, &end, 10);
  if (*end != 0 || n < lo || n > hi) return fallback;
  return (int)n;
}

static void* pool_worker(void* arg) {
  pool_t* p = (pool_t*)arg;
#ifdef __linux__
  pthread_setname_np(pthread_self(), "tfpipe-decode");  // as ps -L and /proc/PID/task/*/comm show it
  if (p->nice == NICE_IDLE) {
    struct sched_param sp = { .sched_priority = 0 };
    pthread_setschedparam(pthread_self(), SCHED_IDLE, &sp);
  } else if (p->nice > 0) {
    // Linux's nice values are per thread: this thread's only (it inherited the main thread's).
    errno = 0;
    int base = getpriority(PRIO_PROCESS, 0);
    if (errno == 0) setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), base + p->nice > 19 ? 19 : base + p->nice);
  }
#endif
  pthread_mutex_lock(&p->mu);
  p->started++;
  pthread_cond_signal(&p->ready);
  pthread_mutex_unlock(&p->mu);
  for (;;) {
    pthread_mutex_lock(&p->mu);
    while (p->head == NULL && !p->stopping) pthread_cond_wait(&p->cv, &p->mu);
    if (p->stopping) { pthread_mutex_unlock(&p->mu); break; }
    job_t* job = p->head;
    p->head = job->next;
    if (p->head == NULL) p->tail = NULL;
    pthread_mutex_unlock(&p->mu);
    decode_job(job);
    // napi_closing once the environment is being torn down: nobody waits for the result.
    if (napi_call_threadsafe_function(p->done, job, napi_tsfn_nonblocking) != napi_ok) job_free_native(job);
  }
  for (int i = 0; i < 6; i++) { free(scratch[i].p); scratch[i].p = NULL; scratch[i].n = 0; }
  weights_free(&weights_cache);
  return NULL;
}

// On the main thread, for each finished job (env NULL: the environment is torn down).
static void pool_deliver(napi_env env, napi_value js_cb, void* context, void* data) {
  (void)js_cb;
  job_t* job = (job_t*)data;
  if (env == NULL) { job_free_native(job); return; }
  pool_t* p = (pool_t*)context;
  finish(env, job);
  // No decode left: the pool no longer keeps the process alive.
  if (--p->pending == 0) napi_unref_threadsafe_function(env, p->done);
}

// When the environment is torn down (the thread-safe function's finalizer): stops and
// joins the threads (a decode under way finishes first), then frees what was queued.
static void pool_finalize(napi_env env, void* data, void* hint) {
  (void)env; (void)hint;
  pool_t* p = (pool_t*)data;
  pthread_mutex_lock(&p->mu);
  p->stopping = 1;
  pthread_cond_broadcast(&p->cv);
  pthread_mutex_unlock(&p->mu);
  for (int i = 0; i < p->n; i++) pthread_join(p->threads[i], NULL);
  for (job_t* job = p->head; job != NULL;) {
    job_t* next = job->next;
    job_free_native(job);
    job = next;
  }
  pthread_cond_destroy(&p->ready);
  pthread_cond_destroy(&p->cv);
  pthread_mutex_destroy(&p->mu);
  free(p);
}

// The cores this process may run on (its CPU affinity on Linux, as Node's
// os.availableParallelism()), at least 2 (one decode waiting on a slow read leaves
// another running), at most POOL_MAX.
static int default_threads(void) {
  long n = 0;
#ifdef __linux__
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) n = CPU_COUNT(&set);
#endif
  if (n <= 0) n = sysconf(_SC_NPROCESSORS_ONLN);
  return n < 2 ? 2 : n > POOL_MAX ? POOL_MAX : (int)n;
}

// The environment's pool, started on first use; NULL when it could not be made.
// TFPIPE_DECODE_THREADS (1-64, default: the cores this process may run on, at least
// 2; on 2 cores 2 threads decoded 7-18% more in the bench's fit than libuv's 4) and
// TFPIPE_DECODE_NICE (0-19, default DECODE_NICE 19, or `idle`) are read then, once.
// `idle` (Linux's SCHED_IDLE policy): the threads run only on cores nothing else
// wants, and give way at once when a thread of normal policy wakes (a nice value
// still lets them finish a slice first). A model-bound fit overlaps more
// (the CNN at 96x96: 1.15-1.17x against 1.20-1.30x at nice 19, three pairs in the tenth
// session; no gain in two pairs in the eleventh, 1.19-1.24x either way), an
// input-bound one decodes about 5% less (docs/performance.md).
static pool_t* pool_get(napi_env env, env_state_t* st) {
  if (st->pool != NULL) return st->pool;
  pool_t* p = calloc(1, sizeof(pool_t));
  if (p == NULL) return NULL;
  pthread_mutex_init(&p->mu, NULL);
  pthread_cond_init(&p->cv, NULL);
  pthread_cond_init(&p->ready, NULL);
  const char* nice = getenv("TFPIPE_DECODE_NICE");
  p->nice = nice != NULL && strcmp(nice, "idle") == 0 ? NICE_IDLE : env_int("TFPIPE_DECODE_NICE", DECODE_NICE, 0, 19);
  int want = env_int("TFPIPE_DECODE_THREADS", default_threads(), 1, POOL_MAX);
  napi_value name;
  napi_create_string_utf8(env, "tfpipe.jpeg", NAPI_AUTO_LENGTH, &name);
  if (napi_create_threadsafe_function(env, NULL, NULL, name, 0, 1, p, pool_finalize, p, pool_deliver, &p->done) != napi_ok) {
    pthread_cond_destroy(&p->ready);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    free(p);
    return NULL;
  }
  napi_unref_threadsafe_function(env, p->done);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, (size_t)1 << 20);  // decode_job's frames are small; libjpeg allocates on the heap
  for (int i = 0; i < want; i++) {
    if (pthread_create(&p->threads[p->n], &attr, pool_worker, p) == 0) p->n++;
  }
  pthread_attr_destroy(&attr);
  // Returns once every thread has its name and priority (microseconds, once per process):
  // what /proc shows from the first decode on is then the pool as it runs.
  pthread_mutex_lock(&p->mu);
  while (p->started < p->n) pthread_cond_wait(&p->ready, &p->mu);
  pthread_mutex_unlock(&p->mu);
  // With no thread (p->n 0) the caller declines every file; the finalizer frees the pool at teardown.
  st->pool = p;
  return p;
}

static void env_state_free(napi_env env, void* data, void* hint) { (void)env; (void)hint; free(data); }

static napi_value decode(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  env_state_t* state = NULL;
  napi_get_cb_info(env, info, &argc, argv, NULL, (void**)&state);
  if (argc < 6) { napi_throw_type_error(env, NULL, "decode(path, height, width, channels, fit, maxPixels[, dctFast])"); return NULL; }
  size_t len;
  if (napi_get_value_string_utf8(env, argv[0], NULL, 0, &len) != napi_ok) { napi_throw_type_error(env, NULL, "path must be a string"); return NULL; }
  job_t* job = calloc(1, sizeof(job_t));
  job->path = malloc(len + 1);
  napi_get_value_string_utf8(env, argv[0], job->path, len + 1, &len);
  napi_get_value_int32(env, argv[1], &job->want_h);
  napi_get_value_int32(env, argv[2], &job->want_w);
  napi_get_value_int32(env, argv[3], &job->channels);
  napi_get_value_int32(env, argv[4], &job->fit);
  napi_get_value_double(env, argv[5], &job->max_pixels);
  bool dct_fast = false;
  if (argc >= 7) napi_get_value_bool(env, argv[6], &dct_fast);
  job->dct_fast = dct_fast;
  if (job->channels != 1 && job->channels != 3) job->channels = 3;
  // Read here, on the main thread, per call (the spec compares both paths in one process).
  const char* planar = getenv("TFPIPE_JPEG_PLANAR");
  job->planar = !(planar != NULL && strcmp(planar, "0") == 0);
  if (job->want_h > 0 && job->want_w > 0) {
    // The output's size is known: make it a JS ArrayBuffer now, so the pixels live in
    // V8's memory (freed with the array) rather than in the pool threads' malloc arenas,
    // (peak RSS of a 2 000-image fit: 1062 and 1125 MB in two runs with malloc, 834 and 907 MB with this).
    // napi_create_buffer leaves the memory uninitialised (an ArrayBuffer is zero-filled: 150 KB
    // per 224x224 image, 81 us of the main thread's time per call with page faults); every byte
    // is written by the decode, and a declined file's buffer is dropped unread.
    napi_value buf, ab;
    void* mem;
    size_t offset = 0;
    if (napi_create_buffer(env, (size_t)job->want_h * job->want_w * job->channels, &mem, &buf) == napi_ok &&
        napi_get_typedarray_info(env, buf, NULL, NULL, NULL, &ab, &offset) == napi_ok) {
      napi_create_reference(env, ab, 1, &job->given_ref);
      job->given = mem;
      job->given_offset = offset;
    }
  }
  napi_value promise;
  napi_create_promise(env, &job->deferred, &promise);
  pool_t* p = pool_get(env, state);
  if (p == NULL || p->n == 0) {  // no decode thread: declined, so sharp decodes the file
    snprintf(job->reason, sizeof job->reason, "no decode thread could be started");
    finish(env, job);
    return promise;
  }
  if (p->pending++ == 0) napi_ref_threadsafe_function(env, p->done);
  pthread_mutex_lock(&p->mu);
  job->next = NULL;
  if (p->tail != NULL) p->tail->next = job; else p->head = job;
  p->tail = job;
  pthread_cond_signal(&p->cv);
  pthread_mutex_unlock(&p->mu);
  return promise;
}

// scale(src: Uint8Array, dst: Float32Array, at, scale: Float32Array, offset: Float32Array | null):
// writes src's bytes, scaled, to dst from index `at`, synchronously (the sink stacks a
// batch with it: about 1 ms per 32 224x224 images, no TensorFlow op).
static napi_value scale_fn(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  napi_typedarray_type ts, td, tsc, toff = napi_float32_array;
  size_t ns, nd, nsc, noff = 0;
  void *ps, *pd, *psc, *poff = NULL;
  double at;
  napi_valuetype offType = napi_null;
  if (argc < 5 ||
      napi_get_typedarray_info(env, argv[0], &ts, &ns, &ps, NULL, NULL) != napi_ok || ts != napi_uint8_array ||
      napi_get_typedarray_info(env, argv[1], &td, &nd, &pd, NULL, NULL) != napi_ok || td != napi_float32_array ||
      napi_get_value_double(env, argv[2], &at) != napi_ok ||
      napi_get_typedarray_info(env, argv[3], &tsc, &nsc, &psc, NULL, NULL) != napi_ok || tsc != napi_float32_array ||
      napi_typeof(env, argv[4], &offType) != napi_ok ||
      (offType != napi_null && (napi_get_typedarray_info(env, argv[4], &toff, &noff, &poff, NULL, NULL) != napi_ok || toff != napi_float32_array || noff != nsc))) {
    napi_throw_type_error(env, NULL, "scale(src: Uint8Array, dst: Float32Array, at: number, scale: Float32Array, offset: Float32Array | null)");
    return NULL;
  }
  if (nsc == 0 || at < 0 || at != (double)(size_t)at || (size_t)at > nd || ns > nd - (size_t)at) {
    napi_throw_range_error(env, NULL, "scale: the bytes do not fit the floats at that index, or no scale");
    return NULL;
  }
  float* dst = (float*)pd + (size_t)at;
#ifdef HAVE_AVX2_PATH
  if (use_avx2 && (nsc == 1 || nsc == 3)) { scale_bytes_avx2(ps, ns, dst, (size_t)at, psc, poff, (int)nsc); return NULL; }
#endif
  scale_bytes_c(ps, ns, dst, (size_t)at, psc, poff, (int)nsc);
  return NULL;
}

// alignOffset(buffer, alignment) -> the smallest byte offset into the ArrayBuffer at which
// its memory is a multiple of `alignment` bytes (a power of two up to 4096). The fit sink
// lays out the float buffer it hands TensorFlow there: TF_NewTensor uses memory aligned
// for Eigen (64 bytes) in place, and copies anything else.
static napi_value align_fn(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], result;
  void* data = NULL;
  size_t len = 0;
  int32_t align = 0;
  bool is_ab = false;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 2 || napi_is_arraybuffer(env, argv[0], &is_ab) != napi_ok || !is_ab ||
      napi_get_arraybuffer_info(env, argv[0], &data, &len) != napi_ok || napi_get_value_int32(env, argv[1], &align) != napi_ok) {
    napi_throw_type_error(env, NULL, "alignOffset(buffer: ArrayBuffer, alignment: number)");
    return NULL;
  }
  if (align <= 0 || align > 4096 || (align & (align - 1)) != 0) { napi_throw_range_error(env, NULL, "alignOffset: alignment must be a power of two up to 4096"); return NULL; }
  uintptr_t at = (uintptr_t)data;
  napi_create_int32(env, (int32_t)((align - (int32_t)(at % (uintptr_t)align)) % align), &result);
  return result;
}

// planes(path) -> { width, height, chromaWidth, chromaHeight, y, cb, cr } | string: the
// file's YCbCr planes as stored (rows packed), for the specs, which work out from them the
// exact result that the planar path approximates. Synchronous; not used by tfpipe itself.
static napi_value planes_fn(napi_env env, napi_callback_info info) {
  size_t argc = 1, len = 0;
  napi_value argv[1], result;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 1 || napi_get_value_string_utf8(env, argv[0], NULL, 0, &len) != napi_ok) { napi_throw_type_error(env, NULL, "planes(path)"); return NULL; }
  job_t job = {0};
  job.path = malloc(len + 1);
  if (!job.path) { napi_throw_error(env, NULL, "out of memory"); return NULL; }
  napi_get_value_string_utf8(env, argv[0], job.path, len + 1, &len);
  file_t file = read_jpeg_file(&job);
  free(job.path);
  if (!file.data) { napi_create_string_utf8(env, job.reason, NAPI_AUTO_LENGTH, &result); return result; }
  struct jpeg_decompress_struct cinfo;
  error_mgr err;
  uint8_t* volatile mem = NULL;
  cinfo.err = jpeg_std_error(&err.pub);
  err.pub.error_exit = on_error;
  err.pub.emit_message = on_message;
  if (setjmp(err.jump)) {
    jpeg_destroy_decompress(&cinfo);
    scratch_put(file.data, file.n);
    free(mem);
    napi_create_string_utf8(env, err.reason, NAPI_AUTO_LENGTH, &result);
    return result;
  }
  jpeg_create_decompress(&cinfo);
  setup_source(&cinfo, &file);
  const jpeg_component_info* c = cinfo.comp_info;
  if (cinfo.jpeg_color_space != JCS_YCbCr || cinfo.num_components != 3 || c[0].h_samp_factor != cinfo.max_h_samp_factor ||
      c[0].v_samp_factor != cinfo.max_v_samp_factor || c[1].h_samp_factor != c[2].h_samp_factor || c[1].v_samp_factor != c[2].v_samp_factor) {
    jpeg_destroy_decompress(&cinfo);
    scratch_put(file.data, file.n);
    napi_create_string_utf8(env, "not YCbCr with luma at full size", NAPI_AUTO_LENGTH, &result);
    return result;
  }
  cinfo.raw_data_out = TRUE;
  cinfo.out_color_space = JCS_YCbCr;
  jpeg_start_decompress(&cinfo);
  int w = (int)cinfo.output_width, h = (int)cinfo.output_height;
  int cw = (int)c[1].downsampled_width, chh = (int)c[1].downsampled_height;
  int ly = c[0].v_samp_factor * DCTSIZE, lc = c[1].v_samp_factor * DCTSIZE;
  size_t sy = (size_t)c[0].width_in_blocks * DCTSIZE, sc = (size_t)c[1].width_in_blocks * DCTSIZE;
  size_t hy = (size_t)(h + ly - 1) / ly * ly, hc = hy / ly * lc;  // whole reads
  mem = malloc(sy * hy + 2 * sc * hc + sizeof(JSAMPROW) * (size_t)(ly + 2 * lc));
  if (!mem) { jpeg_destroy_decompress(&cinfo); scratch_put(file.data, file.n); napi_throw_error(env, NULL, "out of memory"); return NULL; }
  uint8_t *py = mem, *pb = py + sy * hy, *pr = pb + sc * hc;
  JSAMPROW* rows = (JSAMPROW*)(pr + sc * hc);
  JSAMPARRAY pl[3] = { rows, rows + ly, rows + ly + lc };
  for (size_t read = 0; cinfo.output_scanline < cinfo.output_height; read++) {
    for (int i = 0; i < ly; i++) pl[0][i] = py + (read * ly + i) * sy;
    for (int i = 0; i < lc; i++) { pl[1][i] = pb + (read * lc + i) * sc; pl[2][i] = pr + (read * lc + i) * sc; }
    jpeg_read_raw_data(&cinfo, pl, (JDIMENSION)ly);
  }
  jpeg_finish_decompress(&cinfo);
  jpeg_destroy_decompress(&cinfo);
  scratch_put(file.data, file.n);
  napi_create_object(env, &result);
  const struct { const char* name; const uint8_t* src; size_t stride; int w, h; } out[3] = {
    { "y", py, sy, w, h }, { "cb", pb, sc, cw, chh }, { "cr", pr, sc, cw, chh } };
  for (int k = 0; k < 3; k++) {
    void* data;
    napi_value ab, arr;
    napi_create_arraybuffer(env, (size_t)out[k].w * out[k].h, &data, &ab);
    for (int y = 0; y < out[k].h; y++) memcpy((uint8_t*)data + (size_t)y * out[k].w, out[k].src + (size_t)y * out[k].stride, (size_t)out[k].w);
    napi_create_typedarray(env, napi_uint8_array, (size_t)out[k].w * out[k].h, ab, 0, &arr);
    napi_set_named_property(env, result, out[k].name, arr);
  }
  free(mem);
  napi_value v;
  napi_create_int32(env, w, &v); napi_set_named_property(env, result, "width", v);
  napi_create_int32(env, h, &v); napi_set_named_property(env, result, "height", v);
  napi_create_int32(env, cw, &v); napi_set_named_property(env, result, "chromaWidth", v);
  napi_create_int32(env, chh, &v); napi_set_named_property(env, result, "chromaHeight", v);
  return result;
}

// release(view: Uint8Array): detaches the view's ArrayBuffer, which frees its memory now
// rather than at V8's next collection; false when it cannot be detached.
static napi_value release_fn(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], ab, out;
  bool ok = false;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  bool is_view = false;
  size_t length = 0, offset = 0, whole = 0;
  napi_typedarray_type type;
  void* data;
  // Only a view of a whole buffer of its own (as decode makes them): never a slice of a
  // shared pool, which other views use.
  if (argc == 1 && napi_is_typedarray(env, argv[0], &is_view) == napi_ok && is_view &&
      napi_get_typedarray_info(env, argv[0], &type, &length, &data, &ab, &offset) == napi_ok &&
      type == napi_uint8_array && offset == 0 &&
      napi_get_arraybuffer_info(env, ab, NULL, &whole) == napi_ok && whole == length) {
    bool detached = true;
    // napi_detach_arraybuffer refuses what V8 cannot detach (and leaves it as it is).
    if (napi_is_detached_arraybuffer(env, ab, &detached) == napi_ok && !detached) ok = napi_detach_arraybuffer(env, ab) == napi_ok;
  }
  napi_get_boolean(env, ok, &out);
  return out;
}

NAPI_MODULE_INIT() {
  init_simd();
  napi_value fn;
  napi_create_function(env, "release", NAPI_AUTO_LENGTH, release_fn, NULL, &fn);
  napi_set_named_property(env, exports, "release", fn);
  env_state_t* state = calloc(1, sizeof(env_state_t));
  if (state == NULL || napi_set_instance_data(env, state, env_state_free, NULL) != napi_ok) {
    free(state);
    napi_throw_error(env, NULL, "tfpipe.jpeg: out of memory");
    return NULL;
  }
  napi_create_function(env, "decode", NAPI_AUTO_LENGTH, decode, state, &fn);
  napi_set_named_property(env, exports, "decode", fn);
  napi_create_function(env, "scale", NAPI_AUTO_LENGTH, scale_fn, NULL, &fn);
  napi_set_named_property(env, exports, "scale", fn);
  napi_create_function(env, "alignOffset", NAPI_AUTO_LENGTH, align_fn, NULL, &fn);
  napi_set_named_property(env, exports, "alignOffset", fn);
  napi_create_function(env, "planes", NAPI_AUTO_LENGTH, planes_fn, NULL, &fn);
  napi_set_named_property(env, exports, "planes", fn);
  return exports;
}
#endif
