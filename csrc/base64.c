#include "base64.h"

static const char ENC[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

#define B_SKIP 65
#define B_PAD 66

/* value + 1 for alphabet symbols (both standard and URL-safe), B_SKIP for
 * CR/LF, B_PAD for '=', 0 for anything else. Const: no init race. */
static const unsigned char DEC[256] = {
     0,  0,  0,  0,  0,  0,  0,  0,  0,  0, 65,  0,  0, 65,  0,  0,
     0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
     0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0, 63,  0, 63,  0, 64,
    53, 54, 55, 56, 57, 58, 59, 60, 61, 62,  0,  0,  0, 66,  0,  0,
     0,  1,  2,  3,  4,  5,  6,  7,  8,  9, 10, 11, 12, 13, 14, 15,
    16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26,  0,  0,  0,  0, 64,
     0, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41,
    42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52,  0,  0,  0,  0,  0,
     0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
     0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
     0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
     0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
     0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
     0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
     0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
     0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
};

size_t b64_encoded_len(size_t n)
{
    return (n + 2) / 3 * 4;
}

void b64_encode(const unsigned char *in, size_t n, char *out)
{
    size_t i = 0;
    while (n - i >= 3) {
        unsigned v = ((unsigned)in[i] << 16) | ((unsigned)in[i + 1] << 8) | in[i + 2];
        out[0] = ENC[v >> 18];
        out[1] = ENC[(v >> 12) & 63];
        out[2] = ENC[(v >> 6) & 63];
        out[3] = ENC[v & 63];
        out += 4;
        i += 3;
    }
    if (n - i == 1) {
        unsigned v = (unsigned)in[i] << 16;
        out[0] = ENC[v >> 18];
        out[1] = ENC[(v >> 12) & 63];
        out[2] = '=';
        out[3] = '=';
    } else if (n - i == 2) {
        unsigned v = ((unsigned)in[i] << 16) | ((unsigned)in[i + 1] << 8);
        out[0] = ENC[v >> 18];
        out[1] = ENC[(v >> 12) & 63];
        out[2] = ENC[(v >> 6) & 63];
        out[3] = '=';
    }
}

size_t b64_decoded_max(size_t n)
{
    return n / 4 * 3 + 3;
}

int b64_decode(const char *in, size_t n, unsigned char *out, size_t *outlen,
               const char **err)
{
    unsigned acc = 0;
    size_t nsym = 0;  /* data symbols seen */
    size_t npad = 0;  /* '=' seen (only valid at the end) */
    size_t o = 0, i;

    for (i = 0; i < n; i++) {
        unsigned char c;
        /* the common case, four data symbols at a time (at a quantum boundary,
         * no padding seen); anything else goes through the loop below */
        if ((nsym & 3) == 0 && npad == 0) {
            while (n - i >= 4) {
                unsigned a = DEC[(unsigned char)in[i]], b = DEC[(unsigned char)in[i + 1]];
                unsigned d2 = DEC[(unsigned char)in[i + 2]], d3 = DEC[(unsigned char)in[i + 3]];
                unsigned v;
                if (a - 1u > 63u || b - 1u > 63u || d2 - 1u > 63u || d3 - 1u > 63u)
                    break;
                v = ((a - 1u) << 18) | ((b - 1u) << 12) | ((d2 - 1u) << 6) | (d3 - 1u);
                out[o] = (unsigned char)(v >> 16);
                out[o + 1] = (unsigned char)(v >> 8);
                out[o + 2] = (unsigned char)v;
                o += 3;
                i += 4;
                nsym += 4;
            }
            if (i >= n)
                break;
        }
        c = DEC[(unsigned char)in[i]];
        if (c >= 1 && c <= 64) {
            if (npad) {
                *err = "invalid base64: data after padding";
                return -1;
            }
            acc = (acc << 6) | (unsigned)(c - 1);
            if ((++nsym & 3) == 0) {
                out[o++] = (unsigned char)(acc >> 16);
                out[o++] = (unsigned char)(acc >> 8);
                out[o++] = (unsigned char)acc;
                acc = 0;
            }
        } else if (c == B_SKIP) {
            continue;
        } else if (c == B_PAD) {
            npad++;
        } else {
            *err = "invalid base64 character";
            return -1;
        }
    }
    switch (nsym & 3) {
    case 0:
        if (npad) {
            *err = "invalid base64 padding";
            return -1;
        }
        break;
    case 1:
        *err = "invalid base64 length";
        return -1;
    case 2: /* one byte; 4 trailing bits must be zero */
        if (npad != 0 && npad != 2) {
            *err = "invalid base64 padding";
            return -1;
        }
        if (acc & 0xF) {
            *err = "invalid base64: non-zero trailing bits";
            return -1;
        }
        out[o++] = (unsigned char)(acc >> 4);
        break;
    case 3: /* two bytes; 2 trailing bits must be zero */
        if (npad != 0 && npad != 1) {
            *err = "invalid base64 padding";
            return -1;
        }
        if (acc & 0x3) {
            *err = "invalid base64: non-zero trailing bits";
            return -1;
        }
        out[o++] = (unsigned char)(acc >> 10);
        out[o++] = (unsigned char)(acc >> 2);
        break;
    }
    *outlen = o;
    return 0;
}
