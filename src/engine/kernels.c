/* kernels.c - the public names of the per-level kernels (kernels.h): each forwards to the copy
 * compiled for the level sal_isa_current() chose, so one binary runs on any x86-64 CPU and
 * still uses AVX-512 where there is one. One indirect call per layer call: nothing next to a
 * layer's work. */
#include <stddef.h>

#include "kernels.h"
#include "salient/cpu.h"
#include "salient/layers.h"

#ifndef SALIENT_ISA_LEVELS
#define SALIENT_ISA_LEVELS 1
#endif

/* the suffixed copies: name_generic, name_avx2, name_avx512 */
#define DECLARE_V(name, params, args) void name##_generic params; void name##_avx2 params; \
    void name##_avx512 params;
#define DECLARE_R(type, name, params, args) type name##_generic params; \
    type name##_avx2 params; type name##_avx512 params;
SAL_KERNELS(DECLARE_V, DECLARE_R)

typedef struct kernel_table {
#define FIELD_V(name, params, args) void(*name) params;
#define FIELD_R(type, name, params, args) type(*name) params;
    SAL_KERNELS(FIELD_V, FIELD_R)
} kernel_table;

#define ENTRY_GENERIC(name, params, args) .name = name##_generic,
#define ENTRY_R_GENERIC(type, name, params, args) .name = name##_generic,
#define ENTRY_AVX2(name, params, args) .name = name##_avx2,
#define ENTRY_R_AVX2(type, name, params, args) .name = name##_avx2,
#define ENTRY_AVX512(name, params, args) .name = name##_avx512,
#define ENTRY_R_AVX512(type, name, params, args) .name = name##_avx512,
static const kernel_table tables[SALIENT_ISA_LEVELS] = {
    {SAL_KERNELS(ENTRY_GENERIC, ENTRY_R_GENERIC)},
#if SALIENT_ISA_LEVELS == 3
    {SAL_KERNELS(ENTRY_AVX2, ENTRY_R_AVX2)},
    {SAL_KERNELS(ENTRY_AVX512, ENTRY_R_AVX512)},
#endif
};

/* sal_isa_current() never returns a level this build lacks (sal_isa_supported checks it). */
static const kernel_table *table(void) { return &tables[sal_isa_current()]; }

#define WRAP_V(name, params, args) void name params { table()->name args; }
#define WRAP_R(type, name, params, args) type name params { return table()->name args; }
SAL_KERNELS(WRAP_V, WRAP_R)
