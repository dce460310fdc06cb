// polylock etcd kind — see client.hpp.
#include "client.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <mutex>

#ifdef POLYLOCK_ETCD_GRPC
#include "grpc_transport.hpp"
#endif

namespace polylock::etcd {

Deadline Deadline::after(std::int64_t timeout_ns) {
  Deadline deadline;
  deadline.forever = timeout_ns < 0;
  const Clock::time_point now = Clock::now();
  // Clamp before adding: any int64_t timeout works, without overflow.
  const auto room =
      std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::time_point::max() - now);
  deadline.at = deadline.forever || timeout_ns >= room.count()
                    ? Clock::time_point::max()
                    : now + std::chrono::nanoseconds(timeout_ns);
  if (deadline.at == Clock::time_point::max()) deadline.forever = true;
  return deadline;
}

long Deadline::budget_ms(long floor_ms, long cap_ms) const {
  if (forever) return cap_ms;
  // Rounded up, so that a call cut short by its budget ends past the deadline.
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(at - Clock::now()) +
                    std::chrono::milliseconds(1);
  return std::clamp(static_cast<long>(std::min<std::int64_t>(left.count(), cap_ms)), floor_ms,
                    std::max(floor_ms, cap_ms));
}

void Waker::disturb() {
  generation_.fetch_add(1, std::memory_order_acq_rel);
  std::lock_guard<std::mutex> guard(mutex_);
  for (void* multi : waiting_) curl_multi_wakeup(static_cast<CURLM*>(multi));
}

void Waker::enter(void* multi) {
  std::lock_guard<std::mutex> guard(mutex_);
  waiting_.push_back(multi);
}

void Waker::leave(void* multi) {
  std::lock_guard<std::mutex> guard(mutex_);
  waiting_.erase(std::find(waiting_.begin(), waiting_.end(), multi));
}

namespace {

std::once_flag curl_ready;

// What a watch has seen so far: its stream is one JSON object a line.
struct Answer {
  std::string text;
  bool watching = false;
  bool watch_ended = false;     // a delete event, a cancel or an error arrived
  std::int64_t created_at = 0;  // the revision at which etcd set the watch up
  std::size_t scanned = 0;
};

void scan_watch(Answer& answer) {
  std::size_t end;
  while ((end = answer.text.find('\n', answer.scanned)) != std::string::npos) {
    const Json message = Json::parse(answer.text.begin() + static_cast<long>(answer.scanned),
                                     answer.text.begin() + static_cast<long>(end), nullptr, false);
    answer.scanned = end + 1;
    const Json* result = message.is_object() ? object_field(message, "result") : nullptr;
    if (!result) {
      answer.watch_ended = true;  // an error, or not etcd: look again
      continue;
    }
    if (result->value("created", false)) {
      const Json* header = object_field(*result, "header");
      answer.created_at = header ? int_field(*header, "revision") : 0;
      if (answer.created_at <= 0) answer.watch_ended = true;
    }
    const auto events = result->find("events");
    if ((events != result->end() && events->is_array() && !events->empty()) ||
        result->value("canceled", false) || int_field(*result, "compact_revision") != 0)
      answer.watch_ended = true;
  }
}

std::size_t on_data(char* data, std::size_t size, std::size_t count, void* context) {
  auto* answer = static_cast<Answer*>(context);
  // Nothing etcd sends us is large: more than this is not etcd.
  if (answer->text.size() + size * count > (8u << 20)) return 0;
  answer->text.append(data, size * count);
  if (answer->watching) scan_watch(*answer);
  return size * count;
}

}  // namespace

struct Client::Channel {
  CURLM* multi = nullptr;
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  Answer answer;
};

Client::Client(std::vector<std::string> endpoints) : endpoints_(std::move(endpoints)) {
  std::call_once(curl_ready, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
#ifdef POLYLOCK_ETCD_GRPC
  grpc_ = grpc_transport::open(endpoints_);
#endif
}

Client::~Client() {
  for (Channel* channel : pool_) give_back(channel, false);
#ifdef POLYLOCK_ETCD_GRPC
  grpc_transport::close(grpc_);
#endif
}

Client::Channel* Client::take() {
  {
    std::lock_guard<std::mutex> guard(pool_mutex_);
    if (!pool_.empty()) {
      Channel* channel = pool_.back();
      pool_.pop_back();
      return channel;
    }
  }
  auto* channel = new Channel;
  channel->multi = curl_multi_init();
  channel->easy = curl_easy_init();
  channel->headers = curl_slist_append(nullptr, "Content-Type: application/json");
  // No "Expect: 100-continue" round trip before a larger body.
  if (channel->headers) channel->headers = curl_slist_append(channel->headers, "Expect:");
  if (!channel->multi || !channel->easy || !channel->headers) {
    give_back(channel, false);
    return nullptr;
  }
  return channel;
}

void Client::give_back(Channel* channel, bool reusable) {
  if (reusable) {
    std::lock_guard<std::mutex> guard(pool_mutex_);
    // A few idle connections are plenty; more threads make more as needed.
    if (pool_.size() < 8) {
      pool_.push_back(channel);
      return;
    }
  }
  if (channel->easy) curl_easy_cleanup(channel->easy);
  if (channel->multi) curl_multi_cleanup(channel->multi);
  if (channel->headers) curl_slist_free_all(channel->headers);
  delete channel;
}

Outcome Client::run(Channel* channel, const std::string& url, const std::string& body,
                    long budget_ms, Waker* waker, std::uint64_t seen, long* http_status,
                    Watch* watch) {
  CURL* easy = channel->easy;
  curl_easy_reset(easy);
  channel->answer = Answer{};
  channel->answer.watching = waker != nullptr;
  curl_easy_setopt(easy, CURLOPT_URL, url.c_str());
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, channel->headers);
  curl_easy_setopt(easy, CURLOPT_POSTFIELDS, body.c_str());
  curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_data);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, &channel->answer);
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, budget_ms);
  curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, budget_ms);
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);  // a library must not touch SIGALRM
  curl_easy_setopt(easy, CURLOPT_TCP_NODELAY, 1L);
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(easy, CURLOPT_NOPROXY, "*");  // etcd endpoints are reached directly

  CURLM* multi = channel->multi;
  if (curl_multi_add_handle(multi, easy) != CURLM_OK) return Outcome::failed;
  if (waker) waker->enter(multi);
  const Clock::time_point end = Clock::now() + std::chrono::milliseconds(budget_ms);
  Outcome outcome = Outcome::failed;
  CURLcode result = CURLE_OK;
  for (;;) {
    int running = 0;
    if (curl_multi_perform(multi, &running) != CURLM_OK) break;
    if (waker && channel->answer.watch_ended) {
      outcome = Outcome::ok;
      break;
    }
    // The watch runs from the revision etcd set it up at. If that is later
    // than the read that found the key, the key may have gone in between:
    // look once (a watch from an older revision would cost etcd's catch-up
    // of up to 100 ms on every hand-off instead).
    if (watch && channel->answer.created_at != 0 && !watch->checked) {
      watch->checked = true;
      if (channel->answer.created_at > watch->seen_at) {
        const Json range = {{"key", base64(watch->key)}, {"count_only", true}};
        const Reply reply = call("/v3/kv/range", range, std::max(budget_ms / 2, 1L));
        if (reply.outcome != Outcome::ok || int_field(reply.body, "count") == 0) {
          outcome = Outcome::ok;  // gone, or unsure: look again
          break;
        }
      }
    }
    if (!running) {
      int left = 0;
      while (CURLMsg* message = curl_multi_info_read(multi, &left))
        if (message->msg == CURLMSG_DONE) result = message->data.result;
      outcome = result == CURLE_OK                     ? Outcome::ok
                : result == CURLE_OPERATION_TIMEDOUT   ? Outcome::timed_out
                : result == CURLE_COULDNT_CONNECT      ? Outcome::refused
                : result == CURLE_COULDNT_RESOLVE_HOST ? Outcome::refused
                                                       : Outcome::failed;
      // A watch whose stream ended without news: etcd closed it (shutting
      // down, or not etcd); the caller backs off and looks again.
      if (waker && outcome == Outcome::ok) outcome = Outcome::failed;
      break;
    }
    if (waker && waker->generation() != seen) {
      outcome = Outcome::disturbed;
      break;
    }
    const Clock::time_point now = Clock::now();
    if (now >= end) {
      outcome = Outcome::timed_out;
      break;
    }
    long wait_ms = static_cast<long>(
        std::chrono::duration_cast<std::chrono::milliseconds>(end - now).count() + 1);
    long curl_ms = -1;
    curl_multi_timeout(multi, &curl_ms);
    const bool ours = curl_ms < 0 || wait_ms <= curl_ms;
    if (!ours) wait_ms = curl_ms;
    wait_ms = std::min(wait_ms, 1000L);
    const Clock::time_point before = Clock::now();
    int ready = 0;
    curl_multi_poll(multi, nullptr, 0, static_cast<int>(wait_ms), &ready);
    // poll(2) cut short with nothing to read and no timer of curl's due: a
    // signal handler ran on this thread (EINTR), which lock.h counts as a
    // disturbance of the wait. (Whichever timer bounded the poll, ours or
    // curl's: the two are a millisecond apart, and a signal that came while
    // curl's bounded it was missed.)
    if (waker && ready == 0 && wait_ms > 2 &&
        Clock::now() - before < std::chrono::milliseconds(wait_ms - 2) &&
        waker->generation() == seen) {
      long due_ms = -1;
      curl_multi_timeout(multi, &due_ms);
      if (ours || due_ms != 0) {
        outcome = Outcome::disturbed;
        break;
      }
    }
  }
  if (waker) waker->leave(multi);
  curl_multi_remove_handle(multi, easy);
  if (http_status) curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, http_status);
  return outcome;
}

Reply Client::call(const char* path, const Json& request, long budget_ms, Waker*) {
#ifdef POLYLOCK_ETCD_GRPC
  if (grpc_ && grpc_transport::serves(*grpc_))
    return grpc_transport::call(*grpc_, path, request, budget_ms, current_);
#endif
  Reply reply;
  Channel* channel = take();
  if (!channel) return reply;  // failed
  const std::string body = request.dump();
  const std::size_t first = current_.load(std::memory_order_relaxed);
  bool reusable = false;
  for (std::size_t tried = 0; tried < endpoints_.size(); ++tried) {
    const std::size_t index = (first + tried) % endpoints_.size();
    long status = 0;
    reply.outcome = run(channel, endpoints_[index] + path, body, budget_ms, nullptr, 0, &status);
    if (reply.outcome == Outcome::refused) continue;  // nothing was sent: the next may serve
    if (reply.outcome != Outcome::ok) break;
    current_.store(index, std::memory_order_relaxed);
    reply.body = Json::parse(channel->answer.text, nullptr, false);
    reusable = true;
    if (!reply.body.is_object())
      reply.outcome = Outcome::garbage;
    else if (status != 200)
      reply.outcome = reply.body.contains("code") || reply.body.contains("error")
                          ? Outcome::rejected
                          : Outcome::garbage;
    break;
  }
  give_back(channel, reusable);
  return reply;
}

Outcome Client::watch_delete(const std::string& key, std::int64_t seen_at, long budget_ms,
                             Waker* waker, std::uint64_t seen) {
  Channel* channel = take();
  if (!channel) return Outcome::failed;
  const Json request = {{"create_request", {{"key", base64(key)}, {"filters", {"NOPUT"}}}}};
  const std::string body = request.dump();
  const std::size_t index = current_.load(std::memory_order_relaxed) % endpoints_.size();
  long status = 0;
  Watch watch{key, seen_at, false};
  const Outcome outcome =
      run(channel, endpoints_[index] + "/v3/watch", body, budget_ms, waker, seen, &status, &watch);
  // A watch cut mid-stream leaves its connection unusable; one that was
  // refused moves the client on to the next endpoint.
  std::size_t expected = index;
  if (outcome == Outcome::refused) current_.compare_exchange_strong(expected, index + 1);
  give_back(channel, false);
  return outcome;
}

std::string base64(const std::string& bytes) {
  static const char digits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string text;
  text.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const unsigned v = static_cast<unsigned char>(bytes[i]) << 16 |
                       static_cast<unsigned char>(bytes[i + 1]) << 8 |
                       static_cast<unsigned char>(bytes[i + 2]);
    text += digits[v >> 18];
    text += digits[(v >> 12) & 63];
    text += digits[(v >> 6) & 63];
    text += digits[v & 63];
  }
  if (i < bytes.size()) {
    unsigned v = static_cast<unsigned char>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) v |= static_cast<unsigned char>(bytes[i + 1]) << 8;
    text += digits[v >> 18];
    text += digits[(v >> 12) & 63];
    text += i + 1 < bytes.size() ? digits[(v >> 6) & 63] : '=';
    text += '=';
  }
  return text;
}

std::optional<std::string> unbase64(const std::string& text) {
  std::string bytes;
  unsigned value = 0;
  int bits = 0;
  for (const char c : text) {
    int digit;
    if (c >= 'A' && c <= 'Z')
      digit = c - 'A';
    else if (c >= 'a' && c <= 'z')
      digit = c - 'a' + 26;
    else if (c >= '0' && c <= '9')
      digit = c - '0' + 52;
    else if (c == '+')
      digit = 62;
    else if (c == '/')
      digit = 63;
    else if (c == '=')
      break;
    else
      return std::nullopt;
    value = (value << 6) | static_cast<unsigned>(digit);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      bytes += static_cast<char>((value >> bits) & 0xff);
    }
  }
  return bytes;
}

std::int64_t int_field(const Json& object, const char* name) {
  if (!object.is_object()) return 0;
  const auto field = object.find(name);
  if (field == object.end()) return 0;
  if (field->is_number_integer()) return field->get<std::int64_t>();
  if (!field->is_string()) return 0;
  const std::string& text = field->get_ref<const std::string&>();
  std::int64_t value = 0;
  bool negative = false;
  std::size_t i = 0;
  if (!text.empty() && text[0] == '-') negative = true, i = 1;
  if (i == text.size() || text.size() - i > 19) return 0;
  for (; i < text.size(); ++i) {
    if (text[i] < '0' || text[i] > '9') return 0;
    const std::int64_t digit = text[i] - '0';
    if (value > (INT64_MAX - digit) / 10) return 0;
    value = value * 10 + digit;
  }
  return negative ? -value : value;
}

const Json* object_field(const Json& object, const char* name) {
  if (!object.is_object()) return nullptr;
  const auto field = object.find(name);
  return field != object.end() && field->is_object() ? &*field : nullptr;
}

}  // namespace polylock::etcd
