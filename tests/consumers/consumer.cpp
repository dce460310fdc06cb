// The header-only C++ face, found through the installed CMake package.
#include <mutex>
#include <polylock/lock.hpp>
#include <thread>
#include <vector>

int main() {
  polylock::Lock lock;
  long counter = 0;
  std::vector<std::thread> workers;
  for (int t = 0; t < 4; ++t)
    workers.emplace_back([&] {
      for (int i = 0; i < 50000; ++i) {
        std::scoped_lock guard(lock);
        ++counter;
      }
    });
  for (auto& worker : workers) worker.join();
  return counter == 4 * 50000 ? 0 : 1;
}
