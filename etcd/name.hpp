// polylock etcd kind — the name lock_open was given:
// etcd://HOST:PORT[,HOST:PORT...]/NAME[?ttl=SECONDS][&tls=1] (the two
// parameters in either order)
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace polylock::etcd {

inline constexpr std::int64_t default_ttl_s = 10;
inline constexpr std::int64_t max_ttl_s = 3600;

struct Name {
  std::vector<std::string> endpoints;  // "http://HOST:PORT", "https://HOST:PORT" with tls
  std::string lock;                    // NAME: the named-lock alphabet, 1-200 bytes
  std::int64_t ttl_s = default_ttl_s;
  bool tls = false;  // TLS to every endpoint, the server's certificate checked (docs/etcd.md)
};

// Empty for anything that is not such a name (lock_open then says LOCK_EINVAL).
std::optional<Name> parse_name(const char* text);

}  // namespace polylock::etcd
