// polylock::Lock::fencing_token (the C++ face of lock_fence) on an etcd lock
// served by the fixture's etcd. Usage: test_etcd_fencing_hpp ENDPOINTS_FILE
//
// What lock.hpp promises: the token of this handle's hold, growing from one
// hold to the next, whichever handle takes it; lock_error(LOCK_ENOTLOCKED)
// from a handle that does not hold the lock, held by another or by nobody.
#include <polylock/lock.hpp>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>
#include <utility>

namespace {

int failures = 0;

#define CHECK(condition)                                                                 \
  do {                                                                                   \
    if (!(condition)) {                                                                  \
      std::fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #condition); \
      ++failures;                                                                        \
    }                                                                                    \
  } while (0)

// The status fencing_token() throws, or LOCK_OK if it returned (in *token).
int fence_status(const polylock::Lock& lock, std::uint64_t* token) {
  try {
    *token = lock.fencing_token();
    return LOCK_OK;
  } catch (const polylock::lock_error& error) {
    return error.code().value();
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s ENDPOINTS_FILE\n", argv[0]);
    return 2;
  }
  std::string endpoints;
  std::ifstream file(argv[1]);
  std::getline(file, endpoints);
  if (endpoints.empty()) {
    std::fprintf(stderr, "no endpoints in %s: did the etcd fixture start?\n", argv[1]);
    return 1;
  }
  const std::string name =
      "etcd://" + endpoints + "/test-" + std::to_string(getpid()) + "-fencing-hpp";
  polylock::Lock first = polylock::Lock::open(name);
  polylock::Lock second = polylock::Lock::open(name);
  std::uint64_t token = 0, previous = 0;
  CHECK(fence_status(first, &token) == LOCK_ENOTLOCKED);  // nobody holds it
  for (int round = 0; round < 4; ++round) {
    polylock::Lock& holder = round % 2 ? second : first;
    polylock::Lock& other = round % 2 ? first : second;
    CHECK(holder.try_lock_for(std::chrono::seconds(10)));
    CHECK(fence_status(holder, &token) == LOCK_OK);
    CHECK(token > previous);  // only grows, from one hold to the next
    std::uint64_t again = 0;
    CHECK(fence_status(holder, &again) == LOCK_OK);
    CHECK(again == token);  // one hold, one token
    CHECK(fence_status(other, &again) == LOCK_ENOTLOCKED);  // another handle's hold
    previous = token;
    holder.unlock();
    CHECK(fence_status(holder, &again) == LOCK_ENOTLOCKED);  // the hold is over
  }
  polylock::Lock moved = std::move(first);
  CHECK(fence_status(first, &token) == LOCK_EINVAL);  // NOLINT(bugprone-use-after-move)
  if (failures) std::fprintf(stderr, "fencing_token: %d failures\n", failures);
  return failures ? 1 : 0;
}
