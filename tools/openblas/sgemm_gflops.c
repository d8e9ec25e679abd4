// sgemm_gflops prints the single-precision GEMM throughput of the
// OpenBLAS it is linked against, at the shapes of sdtp's CPU prefill.
// It computes y = x·wᵀ (x n×k, w m×k, row-major), the product the sdtp
// backend's MatMul computes, and reports 2·n·m·k / seconds.
//
// Build and run: see README.md in this directory.
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static float *randoms(size_t n) {
	float *p = malloc(n * sizeof *p);
	if (p == NULL) {
		perror("malloc");
		exit(1);
	}
	for (size_t i = 0; i < n; i++) {
		p[i] = (float)rand() / RAND_MAX - 0.5f;
	}
	return p;
}

int main(void) {
	static const int shapes[][3] = {
		// n (tokens), m (output features), k (input features)
		{1, 896, 896},
		{1, 4864, 896},
		{512, 896, 896},
		{512, 4864, 896},
		{512, 896, 4864},
		{2048, 4864, 896},
	};
	printf("%s\n", openblas_get_config());
	printf("threads %d\n", openblas_get_num_threads());
	for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
		int n = shapes[s][0], m = shapes[s][1], k = shapes[s][2];
		float *x = randoms((size_t)n * k);
		float *w = randoms((size_t)m * k);
		float *y = randoms((size_t)n * m);
		double flops = 2.0 * n * m * k;
		// Warm up, then repeat for at least one second. Report the mean
		// and the fastest call (the better estimate on a shared machine).
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, m, k, 1, x, k, w, k, 0, y, m);
		int reps = 0;
		double start = now(), elapsed, best = 1e30;
		do {
			double t0 = now();
			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, m, k, 1, x, k, w, k, 0, y, m);
			double dt = now() - t0;
			if (dt < best) {
				best = dt;
			}
			reps++;
			elapsed = now() - start;
		} while (elapsed < 1.0);
		printf("sgemm n=%-5d m=%-5d k=%-5d %8.1f GFLOP/s  %8.1f best-GFLOP/s\n", n, m, k,
		       flops * reps / elapsed / 1e9, flops / best / 1e9);
		free(x);
		free(w);
		free(y);
	}
	return 0;
}
