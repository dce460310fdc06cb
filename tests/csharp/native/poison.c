/* polylock's C# tests: the allocator of a test-only libpolylock
 * (polylock_csharp_poison) in which every block the library frees becomes
 * inaccessible for ever. Linked with -Wl,--wrap=malloc,--wrap=free, so only
 * the library's own allocations (its locks) come from here.
 *
 * The C# fast path touches the native lock's word from JIT-compiled code,
 * which no sanitizer instruments; with this allocator any touch of a freed
 * lock -- a Dispose that freed it under a call in flight -- is a SIGSEGV,
 * not a silent write into reused memory. Each block gets pages of its own in
 * one reserved region, handed out in order and never reused. */
#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

void *__real_malloc(size_t size);
void __real_free(void *memory);

#define REGION_BYTES ((size_t)16 << 30) /* address space only: 4 Mi pages */

static char *region;
static _Atomic size_t used;

static char *reserve(void) {
  char *expected = NULL;
  char *start = __atomic_load_n(&region, __ATOMIC_ACQUIRE);
  if (start) return start;
  void *fresh = mmap(NULL, REGION_BYTES, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                     -1, 0);
  if (fresh == MAP_FAILED) return NULL;
  if (!__atomic_compare_exchange_n(&region, &expected, (char *)fresh, 0, __ATOMIC_ACQ_REL,
                                   __ATOMIC_ACQUIRE)) {
    munmap(fresh, REGION_BYTES);
    return expected;
  }
  return fresh;
}

void *__wrap_malloc(size_t size) {
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  size_t bytes = (size + page - 1) / page * page;
  if (bytes == 0) bytes = page;
  char *start = reserve();
  if (!start) return NULL;
  size_t offset = __atomic_fetch_add(&used, bytes, __ATOMIC_RELAXED);
  if (offset + bytes > REGION_BYTES) return NULL;
  if (mprotect(start + offset, bytes, PROT_READ | PROT_WRITE) != 0) return NULL;
  return start + offset;
}

void __wrap_free(void *memory) {
  if (!memory) return;
  char *start = __atomic_load_n(&region, __ATOMIC_ACQUIRE);
  if (!start || (char *)memory < start || (char *)memory >= start + REGION_BYTES) {
    __real_free(memory);
    return;
  }
  /* The block's first page starts at `memory`; its size is not recorded, so
   * poison the first page (a lock fits in it) and give back its memory. */
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  madvise(memory, page, MADV_DONTNEED);
  mprotect(memory, page, PROT_NONE);
}
