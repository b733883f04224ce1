/* memory.h - how the process keeps the memory it frees. */
#ifndef SALIENT_MEMORY_H
#define SALIENT_MEMORY_H

/* Keep freed heap memory for reuse instead of handing it back to the kernel, so that buffers
 * allocated again and again at the size of the model (a checkpoint's read-back, a round's
 * scratch) reuse pages already mapped instead of faulting fresh ones in. glibc serves every
 * allocation of 32 MiB or more (128 KiB at first) with its own mmap, unmapped again at free:
 * measured on this project's 2-core VM, page faults then made a 10M-parameter checkpoint save
 * take 2x as long, and its read-back 7x (docs/performance.md, "Checkpoint I/O"). Call once at
 * start-up, before any thread starts. It leaves glibc as it is where GLIBC_TUNABLES names a
 * glibc.malloc setting (the user's choice wins), and does nothing outside glibc. The cost: the
 * process's resident memory stays at its peak, as with a caching allocator. */
void sal_memory_retain(void);

#endif
