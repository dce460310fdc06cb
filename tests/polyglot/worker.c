/* polylock polyglot hammer — the C worker (store.md says what every worker
 * does; driver.py starts and checks them). The lock through the C ABI:
 * lock_open, lock_acquire (LOCK_OWNERDEAD), lock_release, lock_fence. The
 * etcd store through libcurl, when built with POLYGLOT_ETCD. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifdef POLYGLOT_ETCD
#include <curl/curl.h>
#endif

#include "polylock/lock.h"

#define FIELD 32
#define MAX_SLOTS 128

static int store_fd = -1;   /* file store */
static char etcd_url[512];  /* etcd store: http://HOST:PORT */
static char etcd_prefix[256];
static unsigned seed;

__attribute__((format(printf, 1, 2))) static _Noreturn void fail(const char *format, ...) {
  va_list arguments;
  va_start(arguments, format);
  fprintf(stderr, "FAIL: C worker %d: ", (int)getpid());
  vfprintf(stderr, format, arguments);
  va_end(arguments);
  fputc('\n', stderr);
  exit(1);
}

static long field_index(const char *field) {
  static const char *const header[] = {"count",    "pending",  "pending_count", "pending_slot",
                                       "pending_slot_value",   "owner_dead",    "repaired",
                                       "holder",   "handoff",  "stop",          "fence"};
  if (strncmp(field, "slot.", 5) == 0) return 16 + atol(field + 5);
  if (strncmp(field, "dead.", 5) == 0) return 16 + MAX_SLOTS + atol(field + 5);
  for (size_t i = 0; i < sizeof header / sizeof *header; ++i)
    if (strcmp(field, header[i]) == 0) return (long)i;
  fail("no field %s", field);
}

/* ---- etcd through its JSON gateway (base64 keys and values) ----------------- */
#ifdef POLYGLOT_ETCD
static const char digits64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void base64(const char *bytes, char *text) {
  const size_t size = strlen(bytes);
  for (size_t i = 0; i < size; i += 3) {
    unsigned v = (unsigned char)bytes[i] << 16;
    if (i + 1 < size) v |= (unsigned char)bytes[i + 1] << 8;
    if (i + 2 < size) v |= (unsigned char)bytes[i + 2];
    *text++ = digits64[v >> 18];
    *text++ = digits64[(v >> 12) & 63];
    *text++ = i + 1 < size ? digits64[(v >> 6) & 63] : '=';
    *text++ = i + 2 < size ? digits64[v & 63] : '=';
  }
  *text = 0;
}

static void unbase64(const char *text, char *bytes, size_t room) {
  unsigned value = 0;
  int bits = 0;
  size_t n = 0;
  for (; *text && *text != '"' && *text != '='; ++text) {
    const char *at = strchr(digits64, *text);
    if (!at) fail("etcd answered a value that is not base64: %s", text);
    value = (value << 6) | (unsigned)(at - digits64);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      if (n + 1 < room) bytes[n++] = (char)((value >> bits) & 0xff);
    }
  }
  bytes[n] = 0;
}

typedef struct {
  char data[8192];
  size_t size;
} answer_t;

static size_t collect(char *data, size_t size, size_t count, void *into) {
  answer_t *answer = into;
  const size_t n = size * count;
  if (answer->size + n >= sizeof answer->data) return 0;
  memcpy(answer->data + answer->size, data, n);
  answer->size += n;
  answer->data[answer->size] = 0;
  return n;
}

static CURL *curl;

static void etcd_call(const char *path, const char *body, answer_t *answer) {
  char url[600];
  snprintf(url, sizeof url, "%s%s", etcd_url, path);
  answer->size = 0;
  answer->data[0] = 0;
  curl_easy_setopt(curl, CURLOPT_URL, url);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, answer);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 10000L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
  const CURLcode result = curl_easy_perform(curl);
  long code = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
  if (result != CURLE_OK) fail("etcd: %s", curl_easy_strerror(result));
  if (code != 200) fail("etcd answered %s", answer->data);
}

static void etcd_key(const char *field, char *key64) {
  char key[400];
  snprintf(key, sizeof key, "%s/%s", etcd_prefix, field);
  base64(key, key64);
}
#endif

/* ---- the store -------------------------------------------------------------- */

static int64_t get(const char *field) {
  if (store_fd >= 0) {
    char record[FIELD + 1];
    if (pread(store_fd, record, FIELD, FIELD * field_index(field)) != FIELD)
      fail("short read of %s", field);
    record[FIELD] = 0;
    for (int i = 0; i < FIELD - 1; ++i)
      if (record[i] < '0' || record[i] > '9') fail("torn field %s", field);
    if (record[FIELD - 1] != '\n') fail("torn field %s", field);
    return strtoll(record, NULL, 10);
  }
#ifdef POLYGLOT_ETCD
  char key64[600], body[700];
  answer_t answer;
  etcd_key(field, key64);
  snprintf(body, sizeof body, "{\"key\":\"%s\"}", key64);
  etcd_call("/v3/kv/range", body, &answer);
  /* etcd's gateway leaves "kvs" out for a missing key; the one key's value
   * is the only member named "value". */
  const char *value = strstr(answer.data, "\"value\":\"");
  if (!strstr(answer.data, "\"kvs\"") || !value) return 0;
  char decimal[64];
  unbase64(value + 9, decimal, sizeof decimal);
  return strtoll(decimal, NULL, 10);
#else
  fail("no store for %s", field);
#endif
}

static void put(const char *field, int64_t value) {
  if (store_fd >= 0) {
    char record[FIELD + 1];
    snprintf(record, sizeof record, "%031" PRId64 "\n", value);
    if (pwrite(store_fd, record, FIELD, FIELD * field_index(field)) != FIELD)
      fail("short write of %s", field);
    return;
  }
#ifdef POLYGLOT_ETCD
  char key64[600], decimal[32], value64[64], body[800];
  answer_t answer;
  etcd_key(field, key64);
  snprintf(decimal, sizeof decimal, "%" PRId64, value);
  base64(decimal, value64);
  snprintf(body, sizeof body, "{\"key\":\"%s\",\"value\":\"%s\"}", key64, value64);
  etcd_call("/v3/kv/put", body, &answer);
#else
  fail("no store for %s", field);
#endif
}

static void open_store(const char *spec) {
  if (strncmp(spec, "file:", 5) == 0) {
    store_fd = open(spec + 5, O_RDWR);
    if (store_fd < 0) fail("cannot open %s", spec + 5);
    return;
  }
#ifdef POLYGLOT_ETCD
  if (strncmp(spec, "etcd:", 5) == 0) {
    const char *slash = strchr(spec + 5, '/');
    if (!slash) fail("bad store %s", spec);
    snprintf(etcd_url, sizeof etcd_url, "http://%.*s", (int)(slash - spec - 5), spec + 5);
    snprintf(etcd_prefix, sizeof etcd_prefix, "%s", slash + 1);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    curl = curl_easy_init();
    return;
  }
#endif
  fail("no such store (or built without it): %s", spec);
}

static char slot_field[32], dead_field[32];

static const char *slot_of(const char *what, int64_t slot) {
  char *into = what[0] == 's' ? slot_field : dead_field;
  snprintf(into, 32, "%s.%" PRId64, what, slot);
  return into;
}

static void nap_sometimes(int victim) {
  if (!victim) return;
  const struct timespec nap = {0, (long)(rand_r(&seed) % 1000000)};
  nanosleep(&nap, NULL);
}

/* ---- the critical section (store.md) ---------------------------------------- */

static int take(lock_t *lock, int timed) {
  for (;;) {
    const int64_t timeout = timed ? (1 + rand_r(&seed) % 20) * 1000000LL : LOCK_WAIT_FOREVER;
    const int status = lock_acquire(lock, timeout);
    if (status == LOCK_OK || status == LOCK_OWNERDEAD) return status;
    if (status != LOCK_TIMEOUT) fail("lock_acquire = %d", status);
  }
}

static int ownerdead_seen;

/* Takes the lock and repairs what a dead holder left. */
static void enter(lock_t *lock, int timed) {
  if (take(lock, timed) == LOCK_OWNERDEAD) {
    ++ownerdead_seen;
    put("owner_dead", get("owner_dead") + 1);
    const int64_t holder = get("holder");
    if (holder != 0) put(slot_of("dead", holder - 1), 1);
    put("holder", 0);
    if (get("pending")) {
      put("count", get("pending_count"));
      put(slot_of("slot", get("pending_slot")), get("pending_slot_value"));
      put("pending", 0);
      put("repaired", get("repaired") + 1);
    }
  } else if (get("holder") != 0) {
    fail("LOCK_OK, but another holder is inside (or a dead one was not reported)");
  } else if (get("pending")) {
    fail("LOCK_OK, but a dead holder's increment was half-done");
  }
}

static void increment(lock_t *lock, int slot, int log, int victim) {
  put("holder", 1 + slot);
  nap_sometimes(victim);
  if (store_fd < 0) { /* etcd: the token of this hold grows */
    uint64_t token = 0;
    if (lock_fence(lock, &token) != LOCK_OK) fail("lock_fence on a held etcd lock failed");
    if ((int64_t)token <= get("fence")) fail("a fencing token did not grow");
    put("fence", (int64_t)token);
  }
  const int64_t count = get("count"), mine = get(slot_of("slot", slot));
  put("pending_count", count + 1);
  put("pending_slot", slot);
  put("pending_slot_value", mine + 1);
  put("pending", 1);
  nap_sometimes(victim);
  put("count", count + 1);
  nap_sometimes(victim);
  put(slot_of("slot", slot), mine + 1);
  put("pending", 0);
  put("holder", 0);
  nap_sometimes(victim);
  if (log >= 0 && write(log, "+", 1) != 1) fail("cannot log");
}

int main(int argc, char **argv) {
  if (argc < 6) return 2;
  seed = (unsigned)getpid() ^ (unsigned)time(NULL);
  open_store(argv[1]);
  int status = LOCK_ESYS;
  lock_t *lock = lock_open(argv[2], &status);
  if (!lock) fail("lock_open(%s) = %d", argv[2], status);
  if (store_fd >= 0) { /* a named lock has no fencing tokens */
    uint64_t token;
    if (lock_fence(lock, &token) != LOCK_ENOTSUP) fail("lock_fence on a named lock");
  }
  const char *role = argv[3];
  const int slot = atoi(argv[4]);
  const int log = strcmp(argv[5], "-") ? open(argv[5], O_WRONLY | O_CREAT | O_APPEND, 0600) : -1;
  int increments = 0, handoffs = 0, released = 0;

  if (strcmp(role, "hammer") == 0 && argc == 10) {
    const int n = atoi(argv[6]), timed = strcmp(argv[7], "timed") == 0,
              every = atoi(argv[8]);
    int releasers[MAX_SLOTS], count = 0;
    for (char *item = strtok(argv[9], ","); item; item = strtok(NULL, ","))
      if (strcmp(item, "-") != 0 && count < MAX_SLOTS) releasers[count++] = atoi(item);
    for (int i = 1; i <= n; ++i) {
      enter(lock, timed);
      increment(lock, slot, log, 0);
      ++increments;
      if (every > 0 && count > 0 && i % every == 0 && i < n) {
        put("handoff", 1 + releasers[(i / every - 1) % count]);  /* stays held */
        ++handoffs;
      } else if (lock_release(lock) != LOCK_OK) {
        fail("lock_release failed");
      }
    }
  } else if (strcmp(role, "victim") == 0 && argc == 7) {
    const int both = strcmp(argv[6], "both") == 0;
    for (;;) {
      enter(lock, both && rand_r(&seed) % 2);
      increment(lock, slot, log, 1);
      if (lock_release(lock) != LOCK_OK) fail("lock_release failed");
    }
  } else if (strcmp(role, "releaser") == 0) {
    for (;;) {
      if (get("handoff") == 1 + slot) {
        put("handoff", 0);
        if (lock_release(lock) != LOCK_OK) fail("release of a handed-off hold failed");
        ++released;
        continue;
      }
      if (get("stop")) break;
      const struct timespec tick = {0, 1000000};
      nanosleep(&tick, NULL);
    }
  } else if (strcmp(role, "hold") == 0) {
    enter(lock, 0);
    put("holder", 1 + slot);
    printf("held\n");
    fflush(stdout);
    for (;;) pause(); /* until killed */
  } else if (strcmp(role, "wait-once") == 0) {
    printf("waiting\n");
    fflush(stdout);
    enter(lock, 0);
    if (lock_release(lock) != LOCK_OK) fail("lock_release failed");
  } else if (strcmp(role, "finish") == 0) {
    enter(lock, 0);
    if (lock_release(lock) != LOCK_OK) fail("lock_release failed");
    if (store_fd >= 0) lock_unlink(argv[2]);
  } else {
    fprintf(stderr, "C worker: bad arguments\n");
    return 2;
  }
  lock_free(lock);
  printf("RESULT increments=%d ownerdead=%d handoffs=%d released=%d\n", increments,
         ownerdead_seen, handoffs, released);
  return 0;
}
