// bench/jpeg-timing.c: the JPEG fast path's per-image cost on one core, split into the
// libjpeg decode and the whole job (decode + resize), over the files given.
// Built and run by `npm run bench:jpeg` (cc, libjpeg-turbo's headers):
//   cc -O3 -DTFPIPE_JPEG_NO_NAPI bench/jpeg-timing.c -ljpeg && ./a.out FILES...
#include "../native/jpeg.c"
#include <time.h>

static double clock_s(clockid_t which) {
  struct timespec t;
  clock_gettime(which, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}
static double now(void) { return clock_s(CLOCK_MONOTONIC); }
// This thread's CPU time: the cost itself, without the time spent waiting for a core on a busy machine.
static double cpu_now(void) { return clock_s(CLOCK_THREAD_CPUTIME_ID); }

int main(int argc, char** argv) {
  init_simd();  // as the addon: TFPIPE_JPEG_SIMD=0 times the portable code (what CPUs without AVX2 run)
  // TFPIPE_JPEG_PLANAR=0 times the path that has libjpeg upsample and convert to RGB.
  const char* planar = getenv("TFPIPE_JPEG_PLANAR");
  int use_planar = !(planar != NULL && strcmp(planar, "0") == 0);
  // TFPIPE_JPEG_DCT=fast times libjpeg's fast integer IDCT (decodeImage's dctMethod: 'fast').
  const char* dct = getenv("TFPIPE_JPEG_DCT");
  int dct_fast = dct != NULL && strcmp(dct, "fast") == 0;
  // TFPIPE_JPEG_SIZE=N times N x N outputs (default 224); TFPIPE_JPEG_MIN_LEFT=F lets the DCT
  // scale leave the resize F times the output at least (the addon's 2; 0.1 times the entropy
  // decoding alone, at 1/8 scale).
  const char* size_env = getenv("TFPIPE_JPEG_SIZE");
  int size = size_env != NULL && atoi(size_env) > 0 ? atoi(size_env) : 224;
  const char* left = getenv("TFPIPE_JPEG_MIN_LEFT");
  if (left != NULL && atof(left) > 0) dct_min_left = atof(left);
  double read = 0, whole = 0, read_cpu = 0, whole_cpu = 0;
  int n = 0;
  for (int round = 0; round < 2; round++) {  // round 0 warms the caches and scratch buffers
    read = whole = read_cpu = whole_cpu = 0;
    n = 0;
    for (int i = 1; i < argc; i++) {
      job_t a = {0}, b = {0};
      a.path = b.path = argv[i];
      a.want_h = b.want_h = size;
      a.want_w = b.want_w = size;
      a.channels = b.channels = 3;
      a.max_pixels = b.max_pixels = 1e9;
      a.planar = b.planar = use_planar;
      a.dct_fast = b.dct_fast = dct_fast;
      a.decode_only = 1;
      double t0 = now(), c0 = cpu_now();
      decode_job(&a);
      double t1 = now(), c1 = cpu_now();
      if (a.reason[0] != 0) continue;
      decode_job(&b);
      double t2 = now(), c2 = cpu_now();
      if (b.data == NULL) continue;
      free(b.data);
      read += t1 - t0;
      whole += t2 - t1;
      read_cpu += c1 - c0;
      whole_cpu += c2 - c1;
      n++;
    }
  }
  printf("{\"images\": %d, \"size\": %d, \"min_left\": %g, \"decode_ms\": %.3f, \"decode_and_resize_ms\": %.3f, \"decode_cpu_ms\": %.3f, \"decode_and_resize_cpu_ms\": %.3f, \"avx2\": %d, \"planar\": %d, \"dct\": \"%s\"}\n", n, size, dct_min_left, read / n * 1e3, whole / n * 1e3, read_cpu / n * 1e3, whole_cpu / n * 1e3, use_avx2, use_planar, dct_fast ? "fast" : "accurate");
  return n > 0 ? 0 : 1;
}
