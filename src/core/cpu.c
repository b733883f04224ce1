/* cpu.c - which instruction-set level the engine's kernels run at (see cpu.h). The kernels are
 * compiled once per level (CMakeLists.txt, src/engine/kernels.c); this file only decides. */
#include "salient/cpu.h"

#include <stdlib.h>
#include <string.h>

/* Levels this build compiled kernels for: 3 on x86-64, 1 (generic only) elsewhere. */
#ifndef SALIENT_ISA_LEVELS
#define SALIENT_ISA_LEVELS 1
#endif

static const char *const names[SAL_ISA_COUNT] = {"generic", "avx2", "avx512"};

/* -1 until selected; then a sal_isa. Written once at start-up (or by sal_isa_force between
 * kernels); atomics only so that two first calls racing on threads cannot tear it. */
static int current = -1;
static int from_env;

const char *sal_isa_name(sal_isa isa) {
    return (unsigned)isa < SAL_ISA_COUNT ? names[isa] : "?";
}

/* What each level's kernels were compiled with (-mavx2 -mfma; + -mavx512f/bw/vl/dq), asked of
 * the CPU and the OS (libgcc's cpu model checks that XCR0 enables the vector state). */
int sal_isa_supported(sal_isa isa) {
    if ((unsigned)isa >= SAL_ISA_COUNT || (int)isa >= SALIENT_ISA_LEVELS) return 0;
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (isa >= SAL_ISA_AVX2 && !(__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")))
        return 0;
    if (isa >= SAL_ISA_AVX512 &&
        !(__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
          __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq")))
        return 0;
#endif
    return 1;
}

sal_isa sal_isa_detect(void) {
    int best = SAL_ISA_GENERIC;
    for (int l = SAL_ISA_COUNT - 1; l > SAL_ISA_GENERIC; l--)
        if (sal_isa_supported((sal_isa)l)) {
            best = l;
            break;
        }
    return (sal_isa)best;
}

/* The level SALIENT_ISA asks for, or the detected one when it is unset or empty. */
static sal_status choose(sal_isa *out, int *env, sal_err *err) {
    const char *v = getenv("SALIENT_ISA");
    *env = v && *v;
    if (!*env) {
        *out = sal_isa_detect();
        return SAL_OK;
    }
    for (int l = 0; l < SAL_ISA_COUNT; l++) {
        if (strcmp(v, names[l])) continue;
        if (!sal_isa_supported((sal_isa)l))
            return sal_fail(
                err, SAL_ECONFIG,
                "SALIENT_ISA=%s: this CPU or build lacks that level (it runs up to %s); "
                "set SALIENT_ISA to %s or lower, or unset it to detect",
                v, names[sal_isa_detect()], names[sal_isa_detect()]);
        *out = (sal_isa)l;
        return SAL_OK;
    }
    return sal_fail(err, SAL_ECONFIG,
                    "SALIENT_ISA='%.40s' is not a level: use generic, avx2 or avx512, or unset "
                    "it to detect",
                    v);
}

sal_status sal_isa_select(sal_err *err) {
    sal_isa isa = SAL_ISA_GENERIC;
    int env;
    sal_status st = choose(&isa, &env, err);
    if (st) return st;
    __atomic_store_n(&from_env, env, __ATOMIC_RELAXED);
    __atomic_store_n(&current, (int)isa, __ATOMIC_RELEASE);
    return SAL_OK;
}

sal_status sal_isa_force(sal_isa isa, sal_err *err) {
    if (!sal_isa_supported(isa))
        return sal_fail(err, SAL_EINVAL, "ISA level %s: not supported by this CPU or build",
                        sal_isa_name(isa));
    __atomic_store_n(&from_env, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&current, (int)isa, __ATOMIC_RELEASE);
    return SAL_OK;
}

sal_isa sal_isa_current(void) {
    int c = __atomic_load_n(&current, __ATOMIC_ACQUIRE);
    if (c >= 0) return (sal_isa)c;
    sal_isa isa = SAL_ISA_GENERIC;
    int env;
    if (choose(&isa, &env, NULL)) isa = sal_isa_detect(), env = 0;
    __atomic_store_n(&from_env, env, __ATOMIC_RELAXED);
    __atomic_store_n(&current, (int)isa, __ATOMIC_RELEASE);
    return isa;
}

const char *sal_isa_source(void) {
    (void)sal_isa_current();
    return __atomic_load_n(&from_env, __ATOMIC_RELAXED) ? "SALIENT_ISA" : "detected";
}
