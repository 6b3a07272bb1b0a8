// HAProxy's runtime API (the stats socket, "level admin"): one command per connection, the
// answer is everything HAProxy writes before it closes. Used by the HAProxy sink to read and
// set ticket keys without a reload. The parsers are separate from the socket so tests can feed
// them HAProxy's text; answers that carry key bytes are kept in wiping memory.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "stek/result.h"
#include "stek/secret.h"

namespace stek::agent {

class HaproxyCli {
 public:
  HaproxyCli(std::filesystem::path socket, std::chrono::milliseconds timeout)
      : socket_(std::move(socket)), timeout_(timeout) {}

  const std::filesystem::path& socket() const { return socket_; }
  // Sends one command line and returns the whole answer. Errc::not_found when nothing
  // listens on the socket (missing, refused, not permitted); Errc::io on a timeout or a
  // broken connection.
  Result<SecretString> command(std::string_view line) const;

 private:
  std::filesystem::path socket_;
  std::chrono::milliseconds timeout_;
};

// One "tls-ticket-keys" reference of `show tls-keys`: its numeric id and the file it was
// loaded from.
struct TlsKeysRef {
  int id = 0;
  std::string file;
};

// Parses `show tls-keys`:  "# id (file)" then lines "<id> (<file>)".
Result<std::vector<TlsKeysRef>> parse_tls_keys_refs(std::string_view answer);
// Parses `show tls-keys #<id>`: lines "<id>.<slot> <base64>" in HAProxy's key order (previous
// keys oldest first, then the encrypting key, then the next key), decoded. Errors never quote
// the answer: it holds key bytes.
Result<std::vector<SecretBytes>> parse_tls_keys_dump(std::string_view answer);
// `set ssl tls-key` answers "TLS ticket key updated!"; anything else is HAProxy's refusal.
Status check_set_tls_key_answer(std::string_view answer);

}  // namespace stek::agent
