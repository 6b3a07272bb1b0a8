// Internal: nlohmann::json whose strings and containers wipe their memory when released, for
// documents that carry base64 key bytes.
#pragma once

#include <cstdint>
#include <map>
#include <vector>

#include <nlohmann/json.hpp>

#include "stek/secret.h"

namespace stek::formats {

using SecureJson = nlohmann::basic_json<std::map, std::vector, SecretString, bool, std::int64_t,
                                        std::uint64_t, double, WipingAllocator>;

}  // namespace stek::formats
