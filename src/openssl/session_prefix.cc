// Session ids that begin with the server prefix (session_prefix.h).
#include "session_prefix.h"

#include <algorithm>
#include <string>

namespace stek::openssl::detail {

Status fill_prefixed_session_id(const KeyName& prefix, std::span<std::uint8_t> id, Random& random) {
  if (id.size() < prefix.size() + kSessionIdRandomMin) {
    return make_error(Errc::invalid_argument,
                      "session id of " + std::to_string(id.size()) +
                          " bytes: a server prefix needs " +
                          std::to_string(prefix.size() + kSessionIdRandomMin) + " or more");
  }
  std::copy(prefix.begin(), prefix.end(), id.begin());
  return random.fill(id.subspan(prefix.size()));
}

}  // namespace stek::openssl::detail
