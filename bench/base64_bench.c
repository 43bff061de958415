/* base64 of one buffer: the C core's codec (csrc/base64.c) against OpenSSL's EVP_EncodeBlock / EVP_DecodeBlock, on the
 * same bytes, in one run. Built and run by make bench (bench/run.lua):
 *   build/bench/base64_bench [MiB] [rounds]      (default 10 MiB, 9 rounds)
 * CPU time (CLOCK_PROCESS_CPUTIME_ID) of each call, median of the rounds; throughput in MiB/s of the binary size
 * (the bytes encoded, the bytes decoded). Every result is checked against the other codec's before timing.
 * Prints the human lines and, for the driver, "BENCH <key> <value>" lines. */
#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base64.h"

static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void die(const char *what)
{
    fprintf(stderr, "base64_bench: %s\n", what);
    exit(1);
}

int main(int argc, char **argv)
{
    double mib = argc > 1 ? atof(argv[1]) : 10;
    int rounds = argc > 2 ? atoi(argv[2]) : 9;
    if (mib <= 0 || rounds < 1 || rounds > 1000) die("usage: base64_bench [MiB] [rounds]");
    size_t n = (size_t)(mib * 1048576);
    n -= n % 3; /* whole groups: EVP_DecodeBlock then returns the exact length (it keeps padding's zero bytes) */

    unsigned char *in = malloc(n);
    size_t elen = b64_encoded_len(n);
    char *ours = malloc(elen + 1);
    unsigned char *ssl = malloc(elen + 1); /* EVP_EncodeBlock writes a terminating NUL */
    unsigned char *back = malloc(b64_decoded_max(elen) + 1);
    double *t = malloc(sizeof(double) * 4 * (size_t)rounds);
    if (!in || !ours || !ssl || !back || !t) die("out of memory");
    uint64_t x = 0x9E3779B97F4A7C15u; /* xorshift64: arbitrary bytes, the same every run */
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        in[i] = (unsigned char)(x >> 24);
    }

    /* the two encoders agree, and each decoder gives the input back */
    b64_encode(in, n, ours);
    if ((size_t)EVP_EncodeBlock(ssl, in, (int)n) != elen || memcmp(ours, ssl, elen) != 0) die("encoders differ");
    size_t outlen = 0;
    const char *err = NULL;
    if (b64_decode(ours, elen, back, &outlen, &err) != 0 || outlen != n || memcmp(back, in, n) != 0)
        die("b64_decode did not round-trip");
    if ((size_t)EVP_DecodeBlock(back, ssl, (int)elen) != n || memcmp(back, in, n) != 0)
        die("EVP_DecodeBlock did not round-trip");

    /* the four calls take turns in every round: a busy spell of the machine hits both codecs alike */
    double r[4];
    for (int i = 0; i < rounds; i++) {
        for (int which = 0; which < 4; which++) {
            double t0 = cpu_s();
            switch (which) {
            case 0: b64_encode(in, n, ours); break;
            case 1: EVP_EncodeBlock(ssl, in, (int)n); break;
            case 2: b64_decode(ours, elen, back, &outlen, &err); break;
            default: EVP_DecodeBlock(back, ssl, (int)elen); break;
            }
            t[which * rounds + i] = cpu_s() - t0;
        }
    }
    for (int which = 0; which < 4; which++) r[which] = (double)n / 1048576 / median(t + which * rounds, rounds);
    printf("base64 of %.1f MiB, C, CPU time, median of %d rounds (MiB/s of binary data)\n", (double)n / 1048576,
           rounds);
    printf("  encode: csrc/base64.c %8.0f MiB/s   OpenSSL EVP_EncodeBlock %8.0f MiB/s   ours/OpenSSL %.2fx\n", r[0],
           r[1], r[0] / r[1]);
    printf("  decode: csrc/base64.c %8.0f MiB/s   OpenSSL EVP_DecodeBlock %8.0f MiB/s   ours/OpenSSL %.2fx\n", r[2],
           r[3], r[2] / r[3]);
    printf("BENCH b64.mib %.2f\nBENCH b64.enc_ours %.1f\nBENCH b64.enc_ssl %.1f\nBENCH b64.dec_ours %.1f\n"
           "BENCH b64.dec_ssl %.1f\n",
           (double)n / 1048576, r[0], r[1], r[2], r[3]);
    free(in);
    free(ours);
    free(ssl);
    free(back);
    free(t);
    return 0;
}
