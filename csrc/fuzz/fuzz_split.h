/* Shared by the harnesses: derive feed boundaries from the input itself so
 * the fuzzer explores splits, and compare against the one-shot parse. */
#ifndef TANSTACK_AI_FUZZ_SPLIT_H
#define TANSTACK_AI_FUZZ_SPLIT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct splitter {
    uint32_t state;
} splitter;

static inline void splitter_init(splitter *s, uint32_t seed)
{
    s->state = seed ? seed : 0x9e3779b9u;
}

/* Next piece length: mostly tiny (0..7), sometimes larger, never past n. */
static inline size_t splitter_next(splitter *s, size_t left)
{
    size_t k;
    s->state ^= s->state << 13;
    s->state ^= s->state >> 17;
    s->state ^= s->state << 5;
    k = (s->state & 7) == 0 ? (s->state >> 8) % 512 : (s->state >> 8) % 8;
    return k < left ? k : left;
}

static inline int same_bytes(const char *a, size_t an, const char *b, size_t bn)
{
    return an == bn && (an == 0 || memcmp(a, b, an) == 0);
}

#define FUZZ_ASSERT(cond)                                                       \
    do {                                                                        \
        if (!(cond)) {                                                          \
            fprintf(stderr, "assertion failed: %s (%s:%d)\n", #cond, __FILE__,  \
                    __LINE__);                                                  \
            abort();                                                            \
        }                                                                       \
    } while (0)

#endif
