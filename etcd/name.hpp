// polylock etcd kind — the name lock_open was given:
// etcd://HOST:PORT[,HOST:PORT...]/NAME[?ttl=SECONDS]
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace polylock::etcd {

inline constexpr std::int64_t default_ttl_s = 10;
inline constexpr std::int64_t max_ttl_s = 3600;

struct Name {
  std::vector<std::string> endpoints;  // "http://HOST:PORT"
  std::string lock;                    // NAME: the named-lock alphabet, 1-200 bytes
  std::int64_t ttl_s = default_ttl_s;
};

// Empty for anything that is not such a name (lock_open then says LOCK_EINVAL).
std::optional<Name> parse_name(const char* text);

}  // namespace polylock::etcd
