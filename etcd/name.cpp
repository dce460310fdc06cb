// polylock etcd kind — see name.hpp.
#include "name.hpp"

#include <cstring>

namespace polylock::etcd {
namespace {

bool host_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '-';
}

bool name_char(char c) { return host_char(c) || c == '_'; }

// HOST:PORT, HOST a DNS name or IPv4 address, or [IPv6]; PORT 1-65535.
std::optional<std::string> parse_endpoint(const std::string& text) {
  const std::size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) return std::nullopt;
  const std::string host = text.substr(0, colon), port = text.substr(colon + 1);
  if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') return std::nullopt;
    for (std::size_t i = 1; i + 1 < host.size(); ++i) {
      const char c = host[i];
      if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') ||
            c == ':' || c == '.'))
        return std::nullopt;
    }
  } else {
    if (host.size() > 253) return std::nullopt;
    for (const char c : host)
      if (!host_char(c)) return std::nullopt;
  }
  if (port.empty() || port.size() > 5) return std::nullopt;
  long number = 0;
  for (const char c : port) {
    if (c < '0' || c > '9') return std::nullopt;
    number = number * 10 + (c - '0');
  }
  if (number < 1 || number > 65535) return std::nullopt;
  return "http://" + host + ":" + port;
}

}  // namespace

std::optional<Name> parse_name(const char* text) {
  constexpr char scheme[] = "etcd://";
  if (!text || std::strncmp(text, scheme, sizeof scheme - 1) != 0) return std::nullopt;
  const std::string rest = text + sizeof scheme - 1;
  const std::size_t slash = rest.find('/');
  if (slash == std::string::npos) return std::nullopt;
  Name name;
  const std::string hosts = rest.substr(0, slash);
  std::size_t start = 0;
  for (;;) {
    const std::size_t comma = hosts.find(',', start);
    auto endpoint = parse_endpoint(hosts.substr(start, comma - start));
    if (!endpoint || name.endpoints.size() == 16) return std::nullopt;
    name.endpoints.push_back(*endpoint);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  std::string lock = rest.substr(slash + 1);
  const std::size_t question = lock.find('?');
  if (question != std::string::npos) {
    // PARAM[&PARAM]: ttl=SECONDS, tls=1; each at most once.
    const std::string query = lock.substr(question + 1);
    lock.resize(question);
    bool have_ttl = false, have_tls = false;
    std::size_t from = 0;
    for (;;) {
      const std::size_t amp = query.find('&', from);
      const std::string param = query.substr(from, amp - from);
      constexpr char ttl[] = "ttl=";
      if (param == "tls=1" && !have_tls) {
        have_tls = name.tls = true;
      } else if (param.compare(0, sizeof ttl - 1, ttl) == 0 && !have_ttl) {
        have_ttl = true;
        const std::string digits = param.substr(sizeof ttl - 1);
        if (digits.empty() || digits.size() > 5) return std::nullopt;
        std::int64_t seconds = 0;
        for (const char c : digits) {
          if (c < '0' || c > '9') return std::nullopt;
          seconds = seconds * 10 + (c - '0');
        }
        if (seconds < 1 || seconds > max_ttl_s) return std::nullopt;
        name.ttl_s = seconds;
      } else {
        return std::nullopt;
      }
      if (amp == std::string::npos) break;
      from = amp + 1;
    }
  }
  if (name.tls)
    for (std::string& endpoint : name.endpoints) endpoint.replace(0, 4, "https");
  if (lock.empty() || lock.size() > 200 || lock.front() == '.') return std::nullopt;
  for (const char c : lock)
    if (!name_char(c)) return std::nullopt;
  name.lock = lock;
  return name;
}

}  // namespace polylock::etcd
