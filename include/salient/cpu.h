/* cpu.h - the instruction-set level of the engine's kernels: detected from the CPU at start-up,
 * or forced with the environment variable SALIENT_ISA=generic|avx2|avx512. */
#ifndef SALIENT_CPU_H
#define SALIENT_CPU_H

#include "salient/status.h"

/* Ordered: a CPU that runs one level runs every level below it. */
typedef enum sal_isa {
    SAL_ISA_GENERIC = 0, /* the build's baseline (x86-64-v2 on x86-64): runs anywhere */
    SAL_ISA_AVX2,        /* + AVX2 and FMA (Haswell, Zen 1 and later) */
    SAL_ISA_AVX512,      /* + AVX-512 F/BW/VL/DQ (Skylake-SP, Ice Lake, Zen 4 and later) */
    SAL_ISA_COUNT
} sal_isa;

/* "generic", "avx2", "avx512"; "?" for anything else. */
const char *sal_isa_name(sal_isa isa);

/* The highest level both this CPU and this build run (a build for another architecture than
 * x86-64 has only the generic level). */
sal_isa sal_isa_detect(void);

/* Whether this CPU and build run `isa`. */
int sal_isa_supported(sal_isa isa);

/* Selects the level the kernels use from now on: SALIENT_ISA if set, else sal_isa_detect().
 * Fails with SAL_ECONFIG (level left unchanged) for an unknown name or a level this CPU lacks,
 * with one line naming the variable and the fix. Programs call it once at start-up, before any
 * thread runs a kernel; one that never calls it gets the same choice at the first kernel call,
 * except that a bad SALIENT_ISA then falls back to the detected level (there is nobody to tell). */
sal_status sal_isa_select(sal_err *err);

/* Selects `isa` regardless of the environment (tests that compare levels); SAL_EINVAL if the
 * CPU lacks it. Not thread-safe: call it between kernels, not during one. */
sal_status sal_isa_force(sal_isa isa, sal_err *err);

/* The level in use (selecting it as sal_isa_select would on the first call). */
sal_isa sal_isa_current(void);

/* How the current level was chosen: "SALIENT_ISA" or "detected". */
const char *sal_isa_source(void);

#endif
