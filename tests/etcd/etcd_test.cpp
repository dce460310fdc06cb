// polylock etcd-kind tests (docs/etcd.md) against a real etcd started by
// etcd_fixture.sh. Usage: test_etcd ENDPOINTS_FILE CASE
// The same binary is the other processes: test_etcd --hold NAME FD ...
//
// Every wait is bounded; times are only checked from above where the
// contract bounds them (a timeout honoured), and loosely from below for the
// lease expiry (holder death is noticed after about the TTL, not before).
#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "polylock/lock.h"

namespace {

using Clock = std::chrono::steady_clock;
using Json = nlohmann::json;

int failures = 0;
std::string endpoints;  // "127.0.0.1:PORT[,...]"
std::string fixture;    // the fixture's folder: nN.pid and nN.port for each member
const char* self;

#define CHECK(condition)                                                                 \
  do {                                                                                   \
    if (!(condition)) {                                                                  \
      std::fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #condition); \
      ++failures;                                                                        \
    }                                                                                    \
  } while (0)

#define CHECK_EQ(actual, expected)                                                            \
  do {                                                                                        \
    const long long actual_ = (long long)(actual), expected_ = (long long)(expected);         \
    if (actual_ != expected_) {                                                               \
      std::fprintf(stderr, "%s:%d: %s == %lld, expected %lld\n", __FILE__, __LINE__, #actual, \
                   actual_, expected_);                                                       \
      ++failures;                                                                             \
    }                                                                                         \
  } while (0)

constexpr std::int64_t ms = 1000000;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::string lock_name(const std::string& what, const char* query = "") {
  return "etcd://" + endpoints + "/test-" + std::to_string(getpid()) + "-" + what + query;
}

lock_t* open_ok(const std::string& name) {
  int status = -100;
  lock_t* lock = lock_open(name.c_str(), &status);
  CHECK(lock != nullptr);
  CHECK_EQ(status, LOCK_OK);
  if (!lock) std::exit(1);
  return lock;
}

// ---- etcd itself, for the resources the tests guard --------------------------

std::string base64(const std::string& bytes) {
  static const char digits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string text;
  for (std::size_t i = 0; i < bytes.size(); i += 3) {
    unsigned v = static_cast<unsigned char>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) v |= static_cast<unsigned char>(bytes[i + 1]) << 8;
    if (i + 2 < bytes.size()) v |= static_cast<unsigned char>(bytes[i + 2]);
    text += digits[v >> 18];
    text += digits[(v >> 12) & 63];
    text += i + 1 < bytes.size() ? digits[(v >> 6) & 63] : '=';
    text += i + 2 < bytes.size() ? digits[v & 63] : '=';
  }
  return text;
}

std::string unbase64(const std::string& text) {
  std::string bytes;
  unsigned value = 0;
  int bits = 0;
  for (const char c : text) {
    const char* at =
        std::strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", c);
    if (c == '=' || !at) break;
    value =
        (value << 6) | static_cast<unsigned>(
                           at - "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/");
    bits += 6;
    if (bits >= 8) bits -= 8, bytes += static_cast<char>((value >> bits) & 0xff);
  }
  return bytes;
}

std::size_t collect(char* data, std::size_t size, std::size_t count, void* into) {
  static_cast<std::string*>(into)->append(data, size * count);
  return size * count;
}

// POSTs to the first endpoint that answers; {} when none does.
Json etcd(const char* path, const Json& request, const std::string& only = "") {
  std::string rest = only.empty() ? endpoints : only;
  while (!rest.empty()) {
    const std::size_t comma = rest.find(',');
    const std::string endpoint = rest.substr(0, comma);
    rest = comma == std::string::npos ? "" : rest.substr(comma + 1);
    CURL* easy = curl_easy_init();
    std::string answer;
    const std::string url = "http://" + endpoint + path, body = request.dump();
    curl_easy_setopt(easy, CURLOPT_URL, url.c_str());
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, &answer);
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_NOPROXY, "*");
    const CURLcode result = curl_easy_perform(easy);
    curl_easy_cleanup(easy);
    if (result == CURLE_OK) return Json::parse(answer, nullptr, false);
  }
  return Json::object();
}

std::string padded(std::uint64_t token) {
  char text[32];
  std::snprintf(text, sizeof text, "%020llu", static_cast<unsigned long long>(token));
  return text;
}

// The guarded resource of the fencing rule: a write carries the writer's
// token, and etcd applies it only if no higher token was seen before
// (fixed-width decimals compare as numbers).
bool guarded_write(const std::string& resource, std::uint64_t token, const std::string& data) {
  const Json txn = {
      {"compare",
       {{{"key", base64(resource + "/fence")},
         {"target", "VALUE"},
         {"result", "LESS"},
         {"value", base64(padded(token))}}}},
      {"success",
       {{{"request_put", {{"key", base64(resource + "/fence")}, {"value", base64(padded(token))}}}},
        {{"request_put", {{"key", base64(resource + "/data")}, {"value", base64(data)}}}}}}};
  return etcd("/v3/kv/txn", txn).value("succeeded", false);
}

void make_resource(const std::string& resource) {
  etcd("/v3/kv/put", {{"key", base64(resource + "/fence")}, {"value", base64(padded(0))}});
}

std::int64_t read_counter(const std::string& key) {
  const Json answer = etcd("/v3/kv/range", {{"key", base64(key)}});
  if (!answer.contains("kvs")) return 0;
  return std::atoll(unbase64(answer["kvs"][0].value("value", "")).c_str());
}

void write_counter(const std::string& key, std::int64_t value) {
  etcd("/v3/kv/put", {{"key", base64(key)}, {"value", base64(std::to_string(value))}});
}

// ---- other processes --------------------------------------------------------

pid_t spawn(const std::vector<std::string>& arguments) {
  const pid_t pid = fork();
  if (pid == 0) {
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(self));
    for (const std::string& argument : arguments)
      argv.push_back(const_cast<char*>(argument.c_str()));
    argv.push_back(nullptr);
    execv(self, argv.data());
    _exit(127);
  }
  return pid;
}

int wait_exit(pid_t pid) {
  int status = 0;
  for (int i = 0; i < 600; ++i) {  // 60 s
    if (waitpid(pid, &status, WNOHANG) == pid)
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  kill(pid, SIGKILL);
  waitpid(pid, &status, 0);
  return -1;
}

// Reads one line from `fd` within `timeout_s`.
std::string read_line(int fd, int timeout_s) {
  std::string line;
  const Clock::time_point start = Clock::now();
  char c;
  while (seconds_since(start) < timeout_s) {
    fd_set set;
    FD_ZERO(&set);
    FD_SET(fd, &set);
    timeval tick{0, 100000};
    if (select(fd + 1, &set, nullptr, nullptr, &tick) <= 0) continue;
    if (read(fd, &c, 1) != 1) break;
    if (c == '\n') return line;
    line += c;
  }
  return line;
}

// --hold NAME OUT_FD IN_FD [RESOURCE]: takes the lock, reports "held TOKEN"
// on OUT_FD, then waits for a line on IN_FD ("write": try a guarded write
// with its token and report it, then try to release), or is killed.
int hold(char** argv) {
  lock_t* lock = open_ok(argv[0]);
  const int out = std::atoi(argv[1]), in = std::atoi(argv[2]);
  const std::string resource = argv[3] ? argv[3] : "";
  if (lock_acquire(lock, 10000 * ms) != LOCK_OK) return 2;
  std::uint64_t token = 0;
  if (lock_fence(lock, &token) != LOCK_OK) return 3;
  const std::string held = "held " + std::to_string(token) + "\n";
  if (write(out, held.data(), held.size()) < 0) return 4;
  const std::string command = read_line(in, 60);
  if (command != "write") return 5;
  const bool written = guarded_write(resource, token, "stale holder");
  const int released = lock_release(lock);
  const std::string report =
      std::string(written ? "written" : "refused") + " " + std::to_string(released) + "\n";
  lock_free(lock);
  if (write(out, report.data(), report.size()) < 0) return 4;
  return 0;
}

// --hammer NAME COUNTER ROUNDS: ROUNDS times, takes the lock and adds one to
// a counter in etcd with a plain read and a plain write (a lost update
// unless the lock excludes).
int hammer(char** argv) {
  lock_t* lock = open_ok(argv[0]);
  const std::string counter = argv[1];
  const int rounds = std::atoi(argv[2]);
  for (int i = 0; i < rounds; ++i) {
    const int status = lock_acquire(lock, 30000 * ms);
    if (status != LOCK_OK) return 10 + (status < 0 ? -status : status);
    write_counter(counter, read_counter(counter) + 1);
    if (lock_release(lock) != LOCK_OK) return 3;
  }
  lock_free(lock);
  return 0;
}

// --release NAME: releases the lock from this process.
int release_from_here(char** argv) {
  lock_t* lock = open_ok(argv[0]);
  const int status = lock_release(lock);
  lock_free(lock);
  return status == LOCK_OK ? 0 : 1;
}

// ---- the cases --------------------------------------------------------------

void bad_names() {
  const std::vector<std::string> names = {std::string("etcd://"),
                                          std::string("etcd:///x"),
                                          std::string("etcd://127.0.0.1/x"),
                                          "etcd://127.0.0.1:0/x",
                                          "etcd://127.0.0.1:65536/x",
                                          "etcd://" + endpoints,
                                          "etcd://" + endpoints + "/",
                                          "etcd://" + endpoints + "/.hidden",
                                          "etcd://" + endpoints + "/a/b",
                                          "etcd://" + endpoints + "/a?ttl=0",
                                          "etcd://" + endpoints + "/a?ttl=x",
                                          "etcd://" + endpoints + "/a?color=red",
                                          "etcd://" + endpoints + "/a?tls=0",
                                          "etcd://" + endpoints + "/a?tls=1&tls=1",
                                          "etcd://" + endpoints + "/a?ttl=5&ttl=5",
                                          "etcd://" + endpoints + "/a?ttl=5&",
                                          "etcd://" + endpoints + "/" + std::string(201, 'a'),
                                          "etcd://host name:1/a",
                                          "etcd://[zz]:1/a",
                                          "etcd://127.0.0.1:1,/a"};
  for (const std::string& name : names) {
    int status = -100;
    lock_t* lock = lock_open(name.c_str(), &status);
    if (lock || status != LOCK_EINVAL) std::fprintf(stderr, "accepted: %s\n", name.c_str());
    CHECK(lock == nullptr);
    CHECK_EQ(status, LOCK_EINVAL);
  }
  // Good names open without touching the network.
  lock_t* lock = open_ok("etcd://127.0.0.1:1,[::1]:2,localhost:3/a_b-c.d?ttl=5");
  lock_free(lock);
  lock_free(open_ok("etcd://127.0.0.1:1/a?tls=1"));
  lock_free(open_ok("etcd://127.0.0.1:1/a?ttl=5&tls=1"));
  lock_free(open_ok("etcd://127.0.0.1:1/a?tls=1&ttl=5"));
}

void tls_failure() {
  // TLS to an etcd that serves plain HTTP/2: the handshake fails, and every
  // call says so with an error status (ctest's timeout stands for "no hang").
  lock_t* lock = open_ok(lock_name("tls", "?tls=1"));
  for (const std::int64_t timeout : {std::int64_t{0}, 3000 * ms, std::int64_t{-1}}) {
    errno = 0;
    CHECK_EQ(lock_acquire(lock, timeout), LOCK_ESYS);
    CHECK(errno != 0);
  }
  CHECK_EQ(lock_acquire_interruptible(lock, 3000 * ms, [](void*) { return 0; }, nullptr), LOCK_ESYS);
  CHECK(lock_release(lock) < 0);
  CHECK(lock_locked(lock) < 0);
  std::uint64_t token = 0;
  CHECK_EQ(lock_fence(lock, &token), LOCK_ENOTLOCKED);
  lock_free(lock);
}

void semantics() {
  lock_t* lock = open_ok(lock_name("semantics"));
  lock_t* other = open_ok(lock_name("semantics"));
  std::uint64_t token = 0, previous = 0;
  CHECK_EQ(lock_locked(lock), 0);
  CHECK_EQ(lock_release(lock), LOCK_ENOTLOCKED);
  CHECK_EQ(lock_fence(lock, &token), LOCK_ENOTLOCKED);
  CHECK_EQ(lock_fence(lock, nullptr), LOCK_EINVAL);
  CHECK(lock_fast_word(lock) == nullptr);  // bindings always call through
  CHECK_EQ(lock_reinit(lock), LOCK_ENOTSUP);
  for (int round = 0; round < 3; ++round) {
    CHECK_EQ(lock_acquire(lock, 0), LOCK_OK);
    CHECK_EQ(lock_locked(other), 1);
    CHECK_EQ(lock_fence(lock, &token), LOCK_OK);
    CHECK(token > previous);  // only grows
    previous = token;
    CHECK_EQ(lock_fence(other, &token), LOCK_ENOTLOCKED);
    // Not recursive, and a try or a timed wait on a held lock fails in time.
    CHECK_EQ(lock_acquire(lock, 0), LOCK_TIMEOUT);
    const Clock::time_point start = Clock::now();
    CHECK_EQ(lock_acquire(other, 300 * ms), LOCK_TIMEOUT);
    const double waited = seconds_since(start);
    CHECK(waited >= 0.29 && waited < 2.0);
    // Any opener may release; a second release is an error.
    CHECK_EQ(lock_release(round == 1 ? other : lock), LOCK_OK);
    CHECK_EQ(lock_release(lock), LOCK_ENOTLOCKED);
    CHECK_EQ(lock_locked(lock), 0);
  }
  // A waiter is woken by the release.
  CHECK_EQ(lock_acquire(lock, LOCK_WAIT_FOREVER), LOCK_OK);
  std::atomic<int> got{-100};
  std::thread waiter([&] { got = lock_acquire(other, 10000 * ms); });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  CHECK_EQ(got.load(), -100);
  CHECK_EQ(lock_release(lock), LOCK_OK);
  waiter.join();
  CHECK_EQ(got.load(), LOCK_OK);
  CHECK_EQ(lock_fence(other, &token), LOCK_OK);
  CHECK(token > previous);
  CHECK_EQ(lock_release(other), LOCK_OK);
  lock_free(other);
  lock_free(lock);
}

void fifo() {
  // Waiters are served in the order they queued.
  lock_t* lock = open_ok(lock_name("fifo"));
  CHECK_EQ(lock_acquire(lock, 0), LOCK_OK);
  std::vector<int> order;
  std::mutex order_mutex;
  std::vector<std::thread> waiters;
  for (int i = 0; i < 3; ++i) {
    waiters.emplace_back([&, i] {
      lock_t* mine = open_ok(lock_name("fifo"));
      CHECK_EQ(lock_acquire(mine, 20000 * ms), LOCK_OK);
      {
        std::lock_guard<std::mutex> guard(order_mutex);
        order.push_back(i);
      }
      CHECK_EQ(lock_release(mine), LOCK_OK);
      lock_free(mine);
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // queued in turn
  }
  CHECK_EQ(lock_release(lock), LOCK_OK);
  for (std::thread& waiter : waiters) waiter.join();
  CHECK_EQ(order.size(), 3);
  for (std::size_t i = 0; i < order.size(); ++i) CHECK_EQ(order[i], i);
  lock_free(lock);
}

int stop_asked = 0;
int stop_when_asked_twice(void*) { return ++stop_asked >= 2; }

void interruptible() {
  lock_t* lock = open_ok(lock_name("interruptible"));
  lock_t* waiting = open_ok(lock_name("interruptible"));
  CHECK_EQ(lock_acquire(lock, 0), LOCK_OK);
  std::atomic<int> got{-100};
  std::thread waiter([&] {
    got = lock_acquire_interruptible(waiting, 20000 * ms, stop_when_asked_twice, nullptr);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  CHECK_EQ(got.load(), -100);
  const Clock::time_point start = Clock::now();
  CHECK_EQ(lock_interrupt(waiting), LOCK_OK);
  waiter.join();
  CHECK_EQ(got.load(), LOCK_EINTR);
  CHECK(seconds_since(start) < 2.0);
  CHECK_EQ(stop_asked, 2);  // once before the first sleep, once for the interrupt
  // The interrupted waiter left the queue: a release frees the lock for all.
  CHECK_EQ(lock_release(lock), LOCK_OK);
  CHECK_EQ(lock_acquire(waiting, 0), LOCK_OK);
  CHECK_EQ(lock_release(waiting), LOCK_OK);
  lock_free(waiting);
  lock_free(lock);
}

void on_signal(int) {}
std::atomic<int> signal_asks{0};
int stop_on_second_ask(void*) { return ++signal_asks >= 2; }

void signal_disturbs() {
  // A signal handler that runs on the waiting thread disturbs the wait, as
  // Python's Ctrl-C needs: the stop function is asked.
  struct sigaction action {};
  action.sa_handler = on_signal;
  sigaction(SIGUSR1, &action, nullptr);
  lock_t* lock = open_ok(lock_name("signal"));
  CHECK_EQ(lock_acquire(lock, 0), LOCK_OK);
  std::atomic<int> got{-100};
  std::thread waiter(
      [&] { got = lock_acquire_interruptible(lock, 20000 * ms, stop_on_second_ask, nullptr); });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const Clock::time_point start = Clock::now();
  pthread_kill(waiter.native_handle(), SIGUSR1);
  waiter.join();
  CHECK_EQ(got.load(), LOCK_EINTR);
  CHECK(seconds_since(start) < 2.0);
  CHECK_EQ(lock_release(lock), LOCK_OK);
  lock_free(lock);
}

void fork_child_opens_its_own() {
  // A fork child opens its own handle, and its lease is kept alive (the
  // keep-alive thread did not survive the fork): it holds past the TTL.
  const std::string name = lock_name("fork", "?ttl=2");
  lock_t* parent = open_ok(name);
  CHECK_EQ(lock_acquire(parent, 0), LOCK_OK);  // the parent's keep-alive thread runs
  CHECK_EQ(lock_release(parent), LOCK_OK);
  const pid_t child = fork();
  if (child == 0) {
    lock_t* lock = lock_open(name.c_str(), nullptr);
    if (!lock || lock_acquire(lock, 10000 * ms) != LOCK_OK) _exit(1);
    std::this_thread::sleep_for(std::chrono::milliseconds(4000));  // twice the TTL
    std::uint64_t token = 0;
    if (lock_fence(lock, &token) != LOCK_OK) _exit(2);
    if (lock_release(lock) != LOCK_OK) _exit(3);  // still its own hold: not expired
    lock_free(lock);
    _exit(0);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  CHECK_EQ(lock_acquire(parent, 0), LOCK_TIMEOUT);  // the child holds it
  CHECK_EQ(wait_exit(child), 0);
  CHECK_EQ(lock_acquire(parent, 0), LOCK_OK);  // released, not expired: no LOCK_OWNERDEAD
  CHECK_EQ(lock_release(parent), LOCK_OK);
  lock_free(parent);
}

void release_from_another_process() {
  const std::string name = lock_name("released");
  lock_t* lock = open_ok(name);
  CHECK_EQ(lock_acquire(lock, 0), LOCK_OK);
  CHECK_EQ(wait_exit(spawn({"--release", name})), 0);
  CHECK_EQ(lock_locked(lock), 0);
  CHECK_EQ(lock_acquire(lock, 0), LOCK_OK);  // free again, and not a dead holder's
  CHECK_EQ(lock_release(lock), LOCK_OK);
  CHECK_EQ(wait_exit(spawn({"--release", name})), 1);  // unlocked: LOCK_ENOTLOCKED
  lock_free(lock);
}

void unreachable() {
  // Nobody listens: refused at once.
  int server = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t size = sizeof address;
  bind(server, reinterpret_cast<sockaddr*>(&address), size);
  getsockname(server, reinterpret_cast<sockaddr*>(&address), &size);
  const std::string port = std::to_string(ntohs(address.sin_port));
  {
    lock_t* lock = open_ok("etcd://127.0.0.1:" + port + "/refused");
    const Clock::time_point start = Clock::now();
    errno = 0;
    CHECK_EQ(lock_acquire(lock, 5000 * ms), LOCK_ESYS);
    CHECK_EQ(errno, ECONNREFUSED);
    CHECK(seconds_since(start) < 2.0);
    lock_free(lock);
  }
  // Someone accepts connections and never answers: the caller's timeout holds.
  listen(server, 16);
  {
    lock_t* lock = open_ok("etcd://127.0.0.1:" + port + "/silent");
    Clock::time_point start = Clock::now();
    CHECK_EQ(lock_acquire(lock, 1500 * ms), LOCK_TIMEOUT);
    double waited = seconds_since(start);
    CHECK(waited >= 1.4 && waited < 3.0);
    start = Clock::now();
    CHECK_EQ(lock_acquire(lock, 0), LOCK_TIMEOUT);  // a try gets one round trip's second
    CHECK(seconds_since(start) < 2.5);
    lock_free(lock);  // its clean-up is bounded too
  }
  close(server);
  // The first endpoint refuses, the second serves.
  {
    lock_t* lock = open_ok("etcd://127.0.0.1:" + port + "," + endpoints + "/failover-" +
                           std::to_string(getpid()));
    CHECK_EQ(lock_acquire(lock, 5000 * ms), LOCK_OK);
    CHECK_EQ(lock_release(lock), LOCK_OK);
    lock_free(lock);
  }
}

void garbage() {
  // A server that answers anything but etcd's JSON: an error, never a crash.
  const char* answers[] = {
      "HTTP/1.1 200 OK\r\nContent-Length: 9\r\nConnection: close\r\n\r\nnot json!",
      "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n[]",
      "HTTP/1.1 200 OK\r\nContent-Length: 20\r\nConnection: close\r\n\r\n{\"ID\":\"x\",\"TTL\":{}}",
      "HTTP/1.1 500 Oops\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", "garbage\r\n\r\n"};
  for (const char* answer : answers) {
    int server = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t size = sizeof address;
    bind(server, reinterpret_cast<sockaddr*>(&address), size);
    getsockname(server, reinterpret_cast<sockaddr*>(&address), &size);
    listen(server, 16);
    std::atomic<bool> done{false};
    std::thread serve([&] {
      while (!done) {
        fd_set set;
        FD_ZERO(&set);
        FD_SET(server, &set);
        timeval tick{0, 50000};
        if (select(server + 1, &set, nullptr, nullptr, &tick) <= 0) continue;
        const int client = accept(server, nullptr, nullptr);
        char request[4096];
        if (read(client, request, sizeof request) < 0) {
        }
        if (write(client, answer, std::strlen(answer)) < 0) {
        }
        close(client);
      }
    });
    lock_t* lock =
        open_ok("etcd://127.0.0.1:" + std::to_string(ntohs(address.sin_port)) + "/garbage");
    const Clock::time_point start = Clock::now();
    const int status = lock_acquire(lock, 2000 * ms);
    CHECK(status == LOCK_ESYS || status == LOCK_TIMEOUT);
    CHECK(seconds_since(start) < 4.0);
    CHECK(lock_release(lock) < 0);
    lock_free(lock);
    done = true;
    serve.join();
    close(server);
  }
}

void holder_killed() {
  // ttl=2: the holder's lease expires about 2 s after its last keep-alive.
  const std::string name = lock_name("killed", "?ttl=2");
  int to_parent[2];
  CHECK_EQ(pipe(to_parent), 0);
  const pid_t holder = spawn({"--hold", name, std::to_string(to_parent[1]), "0"});
  const std::string line = read_line(to_parent[0], 20);
  CHECK(line.rfind("held ", 0) == 0);
  lock_t* lock = open_ok(name);
  std::atomic<int> got{-100};
  std::atomic<double> waited{0};
  // A waiter already blocked when the holder dies, and a newcomer after.
  std::thread waiter([&] {
    const Clock::time_point start = Clock::now();
    got = lock_acquire(lock, 20000 * ms);
    waited = seconds_since(start);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const Clock::time_point killed = Clock::now();
  kill(holder, SIGKILL);
  waitpid(holder, nullptr, 0);
  waiter.join();
  const double death_to_next = seconds_since(killed) - 0;
  CHECK_EQ(got.load(), LOCK_OWNERDEAD);
  std::printf("holder death to next holder: %.2f s (ttl 2 s)\n", death_to_next);
  CHECK(death_to_next > 0.5 && death_to_next < 8.0);
  std::uint64_t dead_token = std::stoull(line.substr(5)), token = 0;
  CHECK_EQ(lock_fence(lock, &token), LOCK_OK);
  CHECK(token > dead_token);
  CHECK_EQ(lock_release(lock), LOCK_OK);
  CHECK_EQ(lock_acquire(lock, 0), LOCK_OK);  // released properly: no death reported
  CHECK_EQ(lock_release(lock), LOCK_OK);
  lock_free(lock);
  close(to_parent[0]);
  close(to_parent[1]);
}

void holder_frozen() {
  // A holder paused past its TTL (SIGSTOP) loses the lock to the next, and
  // on SIGCONT its token is stale: the guarded resource refuses it, and its
  // release cannot free the new holder's hold.
  const std::string name = lock_name("frozen", "?ttl=2");
  const std::string resource = "polylock-test/" + std::to_string(getpid()) + "/frozen";
  make_resource(resource);
  int to_parent[2], to_child[2];
  CHECK_EQ(pipe(to_parent), 0);
  CHECK_EQ(pipe(to_child), 0);
  const pid_t holder =
      spawn({"--hold", name, std::to_string(to_parent[1]), std::to_string(to_child[0]), resource});
  const std::string line = read_line(to_parent[0], 20);
  CHECK(line.rfind("held ", 0) == 0);
  const std::uint64_t stale = std::stoull(line.substr(5));
  CHECK(guarded_write(resource, stale, "first holder"));
  kill(holder, SIGSTOP);
  lock_t* lock = open_ok(name);
  CHECK_EQ(lock_acquire(lock, 20000 * ms), LOCK_OWNERDEAD);
  std::uint64_t token = 0;
  CHECK_EQ(lock_fence(lock, &token), LOCK_OK);
  CHECK(token > stale);
  CHECK(guarded_write(resource, token, "second holder"));
  kill(holder, SIGCONT);
  CHECK(write(to_child[1], "write\n", 6) == 6);
  const std::string report = read_line(to_parent[0], 20);
  CHECK_EQ(report == "refused " + std::to_string(LOCK_ENOTLOCKED), 1);
  if (report != "refused " + std::to_string(LOCK_ENOTLOCKED))
    std::fprintf(stderr, "stale holder: %s\n", report.c_str());
  CHECK_EQ(wait_exit(holder), 0);
  CHECK_EQ(lock_locked(lock), 1);  // still ours
  CHECK_EQ(lock_release(lock), LOCK_OK);
  lock_free(lock);
  for (int fd : {to_parent[0], to_parent[1], to_child[0], to_child[1]}) close(fd);
}

void hammer_processes() {
  // Four processes, each adding one to a counter in etcd under the lock.
  const std::string name = lock_name("hammer");
  const std::string counter = "polylock-test/" + std::to_string(getpid()) + "/counter";
  write_counter(counter, 0);
  constexpr int processes = 4, rounds = 25;
  std::vector<pid_t> children;
  for (int i = 0; i < processes; ++i)
    children.push_back(spawn({"--hammer", name, counter, std::to_string(rounds)}));
  for (pid_t child : children) CHECK_EQ(wait_exit(child), 0);
  CHECK_EQ(read_counter(counter), processes * rounds);
}

std::string read_file(const std::string& path) {
  std::ifstream file(path);
  std::string line;
  std::getline(file, line);
  return line;
}

// The member that leads the cluster now, by its index in the fixture; -1 if
// none answers within 10 s.
int leader() {
  for (int attempt = 0; attempt < 100; ++attempt) {
    for (int i = 0; i < 3; ++i) {
      const std::string port = read_file(fixture + "/n" + std::to_string(i) + ".port");
      const Json status = etcd("/v3/maintenance/status", Json::object(), "127.0.0.1:" + port);
      if (!status.is_object() || !status.contains("header") || !status.contains("leader")) continue;
      if (status["header"].value("member_id", "") == status.value("leader", "x")) return i;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return -1;
}

void leader_killed() {
  // Three members; the leader is killed while the lock is held and two
  // waiters wait. Nothing is lost (the leases outlive the election, so no
  // LOCK_OWNERDEAD) and there are never two holders.
  const std::string name = lock_name("leader", "?ttl=5");
  lock_t* holder = open_ok(name);
  CHECK_EQ(lock_acquire(holder, 10000 * ms), LOCK_OK);
  std::atomic<int> inside{1}, overlaps{0};
  std::vector<int> got(2, -100);
  std::vector<std::thread> waiters;
  for (int i = 0; i < 2; ++i) {
    waiters.emplace_back([&, i] {
      lock_t* mine = open_ok(name);
      got[i] = lock_acquire(mine, 40000 * ms);
      if (got[i] == LOCK_OK || got[i] == LOCK_OWNERDEAD) {
        if (inside.fetch_add(1) != 0) ++overlaps;
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        inside.fetch_sub(1);
        CHECK_EQ(lock_release(mine), LOCK_OK);
      }
      lock_free(mine);
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const int killed = leader();
  CHECK(killed >= 0);
  if (killed < 0) std::exit(1);
  const pid_t pid = std::atoi(read_file(fixture + "/n" + std::to_string(killed) + ".pid").c_str());
  kill(pid, SIGKILL);
  std::printf("killed the leader, member n%d (pid %d)\n", killed, static_cast<int>(pid));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  CHECK_EQ(lock_locked(holder), 1);  // still held, read through a survivor
  // Release once a new leader serves (the release may not be answered while
  // there is none; its result must then be known before it is retried).
  const int next = leader();
  CHECK(next >= 0 && next != killed);
  std::uint64_t token = 0;
  CHECK_EQ(lock_fence(holder, &token), LOCK_OK);
  inside.fetch_sub(1);
  CHECK_EQ(lock_release(holder), LOCK_OK);
  for (std::thread& waiter : waiters) waiter.join();
  CHECK_EQ(got[0], LOCK_OK);
  CHECK_EQ(got[1], LOCK_OK);
  CHECK_EQ(overlaps.load(), 0);
  CHECK_EQ(lock_acquire(holder, 10000 * ms), LOCK_OK);
  std::uint64_t later = 0;
  CHECK_EQ(lock_fence(holder, &later), LOCK_OK);
  CHECK(later > token);
  CHECK_EQ(lock_release(holder), LOCK_OK);
  lock_free(holder);
}

}  // namespace

int main(int argc, char** argv) {
  self = argv[0];
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s ENDPOINTS_FILE CASE\n", argv[0]);
    return 2;
  }
  if (std::string(argv[1]).rfind("--", 0) == 0) {
    std::ifstream file(std::getenv("POLYLOCK_ETCD_ENDPOINTS_FILE"));
    std::getline(file, endpoints);
    const std::string mode = argv[1];
    if (mode == "--hold") return hold(argv + 2);
    if (mode == "--hammer") return hammer(argv + 2);
    if (mode == "--release") return release_from_here(argv + 2);
    return 2;
  }
  setenv("POLYLOCK_ETCD_ENDPOINTS_FILE", argv[1], 1);
  fixture = std::string(argv[1]).substr(0, std::string(argv[1]).rfind('/'));
  std::ifstream file(argv[1]);
  std::getline(file, endpoints);
  if (endpoints.empty()) {
    std::fprintf(stderr, "no endpoints in %s: did the etcd fixture start?\n", argv[1]);
    return 1;
  }
  signal(SIGPIPE, SIG_IGN);
  const std::string which = argv[2];
  struct Case {
    const char* name;
    void (*run)();
  } cases[] = {{"bad_names", bad_names},
               {"semantics", semantics},
               {"tls_failure", tls_failure},
               {"fifo", fifo},
               {"interruptible", interruptible},
               {"release_from_another_process", release_from_another_process},
               {"unreachable", unreachable},
               {"garbage", garbage},
               {"holder_killed", holder_killed},
               {"holder_frozen", holder_frozen},
               {"hammer", hammer_processes},
               {"signal_disturbs", signal_disturbs},
               {"fork_child_opens_its_own", fork_child_opens_its_own},
               {"leader_killed", leader_killed}};
  for (const Case& c : cases) {
    if (which != c.name) continue;
    c.run();
    if (failures) std::fprintf(stderr, "%s: %d failures\n", c.name, failures);
    return failures ? 1 : 0;
  }
  std::fprintf(stderr, "no case %s\n", which.c_str());
  return 2;
}
