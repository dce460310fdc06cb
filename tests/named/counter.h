/* polylock named-lock tests — an exact counter in a file that processes
 * share, updated under the named lock with a journal, so that a holder killed
 * at any instruction leaves either a finished increment or one that the next
 * holder (told LOCK_OWNERDEAD) finishes for it. Beside the total, each
 * process counts its own increments in its slot: a lost or doubled increment
 * (two holders at once) makes the total differ from the slots' sum. */
#ifndef POLYLOCK_TESTS_NAMED_COUNTER_H
#define POLYLOCK_TESTS_NAMED_COUNTER_H

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#define COUNTER_SLOTS 64

typedef struct {
  int64_t count;
  int64_t pending; /* 1 while an increment is half-done: the fields below finish it */
  int64_t pending_count;
  int64_t pending_slot;
  int64_t pending_slot_value;
  int64_t owner_dead; /* LOCK_OWNERDEAD answers seen, by everyone */
  int64_t repaired;   /* of which found a half-done increment */
  int64_t holders;    /* processes inside the critical section right now */
  int64_t holder_slot; /* 1 + the slot of the process inside, 0 when none (or it died) */
  int64_t slots[COUNTER_SLOTS];
} counter_t;

static inline int64_t counter_load(int64_t *field) { return __atomic_load_n(field, __ATOMIC_SEQ_CST); }
static inline void counter_store(int64_t *field, int64_t value) {
  __atomic_store_n(field, value, __ATOMIC_SEQ_CST);
}

/* Maps the counter file, creating it zeroed if `create`. NULL on failure. */
static inline counter_t *counter_map(const char *path, int create) {
  int fd = open(path, O_RDWR | (create ? O_CREAT | O_TRUNC : 0), 0600);
  if (fd < 0) return NULL;
  if (create && ftruncate(fd, sizeof(counter_t)) != 0) {
    close(fd);
    return NULL;
  }
  void *memory = mmap(NULL, sizeof(counter_t), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  close(fd);
  return memory == MAP_FAILED ? NULL : (counter_t *)memory;
}

static inline int64_t counter_sum(counter_t *c) {
  int64_t sum = 0;
  for (int i = 0; i < COUNTER_SLOTS; ++i) sum += counter_load(&c->slots[i]);
  return sum;
}

/* Finishes a dead holder's half-done increment. Returns 1 if there was one. */
static inline int counter_repair(counter_t *c) {
  if (!counter_load(&c->pending)) return 0;
  counter_store(&c->count, counter_load(&c->pending_count));
  counter_store(&c->slots[counter_load(&c->pending_slot)], counter_load(&c->pending_slot_value));
  counter_store(&c->pending, 0);
  return 1;
}

/* One journaled increment by `slot`, under the lock. */
static inline void counter_increment(counter_t *c, int slot) {
  counter_store(&c->pending_count, counter_load(&c->count) + 1);
  counter_store(&c->pending_slot, slot);
  counter_store(&c->pending_slot_value, counter_load(&c->slots[slot]) + 1);
  counter_store(&c->pending, 1);
  counter_store(&c->count, counter_load(&c->pending_count));
  counter_store(&c->slots[slot], counter_load(&c->pending_slot_value));
  counter_store(&c->pending, 0);
}

#endif
