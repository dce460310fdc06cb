// polylock fuzz harness for named locks: lock_open's names, and the shared
// object's contents (what a broken or hostile neighbour may leave in
// /dev/shm, or write into the words while the lock is in use).
//
// The first byte picks the mode:
//   even: the rest is a name. lock_open and lock_unlink must agree with a
//         reference validator (lock.h's alphabet and length); a valid name
//         is opened under a per-process prefix, so that fuzzing never touches
//         a real lock.
//   odd:  the rest is an object: its size, mode and bytes are written at a
//         lock's path, and lock_open must refuse it (LOCK_EACCES) unless it
//         is exactly a valid layout-1 object; an opened one is then used
//         while the input keeps overwriting its shared words, and every call
//         must return a status it may return, within its timeout.
//
// Built like fuzz_lock (tests/fuzz/CMakeLists.txt).
#include <fcntl.h>
#include <fuzzer/FuzzedDataProvider.h>
#include <polylock/lock.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

#define CHECK(condition)                                                                 \
  do {                                                                                   \
    if (!(condition)) {                                                                  \
      std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #condition); \
      std::abort();                                                                      \
    }                                                                                    \
  } while (0)

bool valid_name(const std::string& name) {
  if (name.empty() || name.size() > 200 || name[0] == '.') return false;
  for (const char c : name) {
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
          c == '_' || c == '-'))
      return false;
  }
  return true;
}

std::string path_of(const std::string& name) {
  return "/dev/shm/polylock." + std::to_string(geteuid()) + "." + name;
}

void fuzz_name(FuzzedDataProvider& input) {
  const std::string raw = input.ConsumeRemainingBytesAsString();
  const std::string name = raw.substr(0, raw.find('\0'));  // what C sees
  int status = -100;
  if (!valid_name(name)) {
    lock_t* lock = lock_open(raw.c_str(), &status);
    CHECK(lock == nullptr);
    const bool etcd = name.rfind("etcd://", 0) == 0;
    CHECK(status == (etcd ? LOCK_ENOTSUP : LOCK_EINVAL));
    CHECK(lock_unlink(raw.c_str()) == (etcd ? LOCK_ENOTSUP : LOCK_EINVAL));
    return;
  }
  std::string prefixed = "fuzz-" + std::to_string(getpid()) + "-" + name;
  prefixed.resize(prefixed.size() > 200 ? 200 : prefixed.size());
  lock_t* lock = lock_open(prefixed.c_str(), &status);
  CHECK(lock != nullptr && status == LOCK_OK);
  CHECK(lock_acquire(lock, 0) == LOCK_OK);
  CHECK(lock_release(lock) == LOCK_OK);
  lock_free(lock);
  CHECK(lock_unlink(prefixed.c_str()) == LOCK_OK);
}

// Layout 1 of core/named_lock.cpp.
struct Object {
  std::uint32_t magic, layout, size, spare0;
  std::uint64_t owner, hand_off;
  std::uint32_t wake_seq, sleepers;
  std::uint64_t pid_namespace;
  std::uint8_t spare[16];
};
static_assert(sizeof(Object) == 64, "layout 1 is 64 bytes");

// Taken: the owner word names this process (its low 22 bits are the pid).
void check_held_by_me(const Object* shared) {
  const std::uint64_t owner = __atomic_load_n(&shared->owner, __ATOMIC_SEQ_CST);
  CHECK((owner >> 62) == 0 && (owner & ((1u << 22) - 1)) == static_cast<std::uint64_t>(getpid()));
}

void fuzz_object(FuzzedDataProvider& input) {
  const std::string name = "fuzz-object-" + std::to_string(getpid());
  const std::string path = path_of(name);
  ::unlink(path.c_str());

  // Mostly a valid header, so that the fuzzer reaches the shared words.
  Object object{};
  object.magic = 0x4e4b4c50u;
  object.layout = 1;
  object.size = 64;
  const std::uint8_t damage = input.ConsumeIntegral<std::uint8_t>();
  if (damage & 1) object.magic = input.ConsumeIntegral<std::uint32_t>();
  if (damage & 2) object.layout = input.ConsumeIntegral<std::uint32_t>();
  if (damage & 4) object.size = input.ConsumeIntegral<std::uint32_t>();
  struct stat namespace_file {};
  if (::stat("/proc/self/ns/pid", &namespace_file) == 0)
    object.pid_namespace = namespace_file.st_ino;
  const std::uint64_t own_namespace = object.pid_namespace;
  if (damage & 32) object.pid_namespace = input.ConsumeIntegral<std::uint64_t>();
  object.owner = input.ConsumeIntegral<std::uint64_t>();
  object.hand_off = input.ConsumeIntegral<std::uint64_t>();
  object.wake_seq = input.ConsumeIntegral<std::uint32_t>();
  object.sleepers = input.ConsumeIntegral<std::uint32_t>();
  const std::size_t size = (damage & 8) ? input.ConsumeIntegralInRange<std::size_t>(0, 128) : 64;
  const mode_t mode = (damage & 16) ? (input.ConsumeIntegral<std::uint16_t>() & 0777) | 0600 : 0600;

  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL, 0600);
  CHECK(fd >= 0);
  std::uint8_t bytes[128] = {};
  std::memcpy(bytes, &object, sizeof object);
  CHECK(::write(fd, bytes, size) == static_cast<ssize_t>(size));
  CHECK(::fchmod(fd, mode) == 0);
  ::close(fd);

  const bool usable = object.magic == 0x4e4b4c50u && object.layout == 1 && object.size == 64 &&
                      object.pid_namespace == own_namespace && size == 64 && (mode & 077) == 0;
  int status = -100;
  lock_t* lock = lock_open(name.c_str(), &status);
  CHECK((lock != nullptr) == usable);
  CHECK(status == (usable ? LOCK_OK : LOCK_EACCES));
  if (lock) {
    const int words = ::open(path.c_str(), O_RDWR);
    void* memory = mmap(nullptr, sizeof(Object), PROT_READ | PROT_WRITE, MAP_SHARED, words, 0);
    ::close(words);
    CHECK(memory != MAP_FAILED);
    auto* shared = static_cast<Object*>(memory);
    while (input.remaining_bytes() > 0) {
      switch (input.ConsumeIntegralInRange<int>(0, 5)) {
        case 0: {
          const int got = lock_acquire(lock, 0);
          CHECK(got == LOCK_OK || got == LOCK_OWNERDEAD || got == LOCK_TIMEOUT);
          if (got != LOCK_TIMEOUT) check_held_by_me(shared);
          break;
        }
        case 1: {
          const int got =
              lock_acquire(lock, input.ConsumeIntegralInRange<std::int64_t>(1, 2'000'000));
          CHECK(got == LOCK_OK || got == LOCK_OWNERDEAD || got == LOCK_TIMEOUT);
          if (got != LOCK_TIMEOUT) check_held_by_me(shared);
          break;
        }
        case 2: {
          const int got = lock_release(lock);
          CHECK(got == LOCK_OK || got == LOCK_ENOTLOCKED);
          // Freed, or handed to the thread a (forged) request names.
          const std::uint64_t owner = __atomic_load_n(&shared->owner, __ATOMIC_SEQ_CST);
          if (got == LOCK_OK) CHECK(owner == 0 || (owner >> 63) == 1);
          if (got == LOCK_ENOTLOCKED) CHECK(owner == 0);
          break;
        }
        case 3:
          CHECK(lock_locked(lock) == (__atomic_load_n(&shared->owner, __ATOMIC_SEQ_CST) != 0));
          CHECK(lock_interrupt(lock) == LOCK_OK);
          CHECK(lock_reinit(lock) == LOCK_ENOTSUP);
          break;
        case 4:
          __atomic_store_n(&shared->owner, input.ConsumeIntegral<std::uint64_t>(),
                           __ATOMIC_SEQ_CST);
          break;
        case 5:
          __atomic_store_n(&shared->hand_off, input.ConsumeIntegral<std::uint64_t>(),
                           __ATOMIC_SEQ_CST);
          __atomic_store_n(&shared->sleepers, input.ConsumeIntegral<std::uint32_t>(),
                           __ATOMIC_SEQ_CST);
          break;
      }
    }
    munmap(memory, sizeof(Object));
    lock_free(lock);
  }
  ::unlink(path.c_str());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider input(data, size);
  if (input.ConsumeIntegral<std::uint8_t>() % 2 == 0)
    fuzz_name(input);
  else
    fuzz_object(input);
  return 0;
}
