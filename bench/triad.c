/* CPU ceiling for W2, built at bench time by systems/cpu_ceiling.ts: c[i] = a[i] * b[i] + 2 over
 * float32, one thread, the STREAM triad's shape. A line protocol on stdin/stdout:
 * "alloc N" -> "ok"; "run" -> "<seconds> <sum of c>"; "fresh": the same into a new c (malloc'd
 * and freed inside the timing, as an engine that hands back a new array pays); anything else ends
 * the program. */
#define _POSIX_C_SOURCE 200809L /* clock_gettime under -std=c11 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static float *a, *b, *c;
static long n;

/* The same inputs as bench/data.ts uniform(n, seed). */
static void fill(float *x, long len, uint32_t seed) {
  uint32_t s = seed * 0x6b43a9b5u;
  for (long i = 0; i < len; i++) {
    uint32_t h = ((uint32_t)i + s) * 0x9e3779b1u;
    x[i] = (float)(h / 4294967296.0 * 2 - 1);
  }
}

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

static void w2(float *restrict cc, const float *restrict aa, const float *restrict bb, long len) {
  for (long i = 0; i < len; i++) cc[i] = aa[i] * bb[i] + 2.0f;
}

int main(void) {
  char line[128];
  setvbuf(stdout, NULL, _IOLBF, 0);
  while (fgets(line, sizeof line, stdin)) {
    if (strncmp(line, "alloc ", 6) == 0) {
      free(a), free(b), free(c);
      n = atol(line + 6);
      a = aligned_alloc(64, ((n * 4 + 63) / 64) * 64);
      b = aligned_alloc(64, ((n * 4 + 63) / 64) * 64);
      c = aligned_alloc(64, ((n * 4 + 63) / 64) * 64);
      if (!a || !b || !c) return 2;
      fill(a, n, 2), fill(b, n, 3);
      memset(c, 0, n * 4);
      printf("ok\n");
    } else if (strncmp(line, "run", 3) == 0 || strncmp(line, "fresh", 5) == 0) {
      int fresh = line[0] == 'f';
      double t = now();
      float *out = fresh ? malloc(n * 4 + 4) : c;
      if (!out) return 2;
      w2(out, a, b, n);
      t = now() - t;
      double s = 0;
      for (long i = 0; i < n; i++) s += out[i];
      if (fresh) {
        double t2 = now();
        free(out);
        t += now() - t2;
      }
      printf("%.9e %.17g\n", t, s);
    } else {
      return 0;
    }
  }
  return 0;
}
