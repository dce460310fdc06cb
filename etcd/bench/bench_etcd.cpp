// polylock etcd kind — the two numbers docs/etcd.md compares with etcd's own
// recipe (mutex_bench.go does the same work with clientv3/concurrency.Mutex):
//   bench_etcd ENDPOINTS uncontended ROUNDS   acquire+release latency, one handle
//   bench_etcd ENDPOINTS contended PROCS SECONDS   acquire+release pairs per
//                                              second, PROCS processes on one lock
// Prints one JSON object.
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "polylock/lock.h"

namespace {

using Clock = std::chrono::steady_clock;

lock_t* open_or_die(const std::string& name) {
  int status = 0;
  lock_t* lock = lock_open(name.c_str(), &status);
  if (!lock) {
    std::fprintf(stderr, "lock_open(%s): %s\n", name.c_str(), lock_strerror(status));
    std::exit(1);
  }
  return lock;
}

int uncontended(const std::string& endpoints, int rounds) {
  lock_t* lock =
      open_or_die("etcd://" + endpoints + "/bench-uncontended-" + std::to_string(getpid()));
  if (lock_acquire(lock, -1) != LOCK_OK || lock_release(lock) != LOCK_OK) return 1;  // the lease
  std::vector<double> micros;
  for (int i = 0; i < rounds; ++i) {
    const Clock::time_point start = Clock::now();
    if (lock_acquire(lock, -1) != LOCK_OK || lock_release(lock) != LOCK_OK) return 1;
    micros.push_back(std::chrono::duration<double, std::micro>(Clock::now() - start).count());
  }
  std::sort(micros.begin(), micros.end());
  std::printf(
      "{\"impl\": \"polylock-etcd\", \"mode\": \"uncontended\", \"rounds\": %d, "
      "\"median_us\": %.0f, \"p90_us\": %.0f}\n",
      rounds, micros[micros.size() / 2], micros[micros.size() * 9 / 10]);
  lock_free(lock);
  return 0;
}

int contended(const std::string& endpoints, int procs, double seconds) {
  const std::string name = "etcd://" + endpoints + "/bench-contended-" + std::to_string(getpid());
  int pipes[2];
  if (pipe(pipes) != 0) return 1;
  std::vector<pid_t> children;
  for (int p = 0; p < procs; ++p) {
    const pid_t pid = fork();
    if (pid == 0) {
      lock_t* lock = open_or_die(name);
      long pairs = 0;
      const Clock::time_point end = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                                       std::chrono::duration<double>(seconds));
      while (Clock::now() < end) {
        if (lock_acquire(lock, -1) != LOCK_OK || lock_release(lock) != LOCK_OK) _exit(1);
        ++pairs;
      }
      if (write(pipes[1], &pairs, sizeof pairs) != sizeof pairs) _exit(1);
      _exit(0);
    }
    children.push_back(pid);
  }
  long total = 0;
  std::vector<long> each;
  for (int p = 0; p < procs; ++p) {
    long pairs = 0;
    if (read(pipes[0], &pairs, sizeof pairs) != sizeof pairs) return 1;
    total += pairs;
    each.push_back(pairs);
  }
  for (pid_t pid : children) waitpid(pid, nullptr, 0);
  std::printf(
      "{\"impl\": \"polylock-etcd\", \"mode\": \"contended\", \"procs\": %d, "
      "\"seconds\": %.1f, \"pairs_per_s\": %.1f, \"least\": %ld, \"most\": %ld}\n",
      procs, seconds, total / seconds, *std::min_element(each.begin(), each.end()),
      *std::max_element(each.begin(), each.end()));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 4 && std::string(argv[2]) == "uncontended")
    return uncontended(argv[1], std::atoi(argv[3]));
  if (argc >= 5 && std::string(argv[2]) == "contended")
    return contended(argv[1], std::atoi(argv[3]), std::atof(argv[4]));
  std::fprintf(stderr, "usage: %s ENDPOINTS uncontended ROUNDS | contended PROCS SECONDS\n",
               argv[0]);
  return 2;
}
