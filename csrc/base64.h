/* Base64 (RFC 4648) encode/decode. Pure C, no Lua: fuzzed and unit-tested alone. */
#ifndef TANSTACK_AI_BASE64_H
#define TANSTACK_AI_BASE64_H

#include <stddef.h>

#include "buf.h" /* TAI_HIDDEN */

/* Bytes needed to encode n bytes (padded), not counting a terminator. */
TAI_HIDDEN size_t b64_encoded_len(size_t n);
/* Writes b64_encoded_len(n) bytes to out (standard alphabet, '=' padded). */
TAI_HIDDEN void b64_encode(const unsigned char *in, size_t n, char *out);

/* Upper bound of the decoded size of n input characters. */
TAI_HIDDEN size_t b64_decoded_max(size_t n);
/* Decodes standard or URL-safe base64; padding optional; CR and LF skipped.
 * out must hold b64_decoded_max(n) bytes. Returns 0 and sets *outlen, or -1
 * and sets *err to a static message starting with "invalid base64". */
TAI_HIDDEN int b64_decode(const char *in, size_t n, unsigned char *out, size_t *outlen,
               const char **err);

#endif
