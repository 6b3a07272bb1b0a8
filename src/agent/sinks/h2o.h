// h2o sink: h2o's session ticket file (`ssl-session-resumption` with `ticket-store: file`,
// `ticket-file`), a YAML list of keys with their validity. h2o polls the file's mtime every
// 10 s and re-reads it by itself: no signal, no reload. The next key is listed with its
// not_before, so h2o switches at the boundary even before it re-reads the file.
#pragma once

#include <ctime>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "../sink.h"

namespace stek::agent {

struct H2oSinkOptions {
  std::filesystem::path path;                     // the ticket-file, mode 0600 (tmpfs)
  std::optional<std::filesystem::path> h2o_conf;  // checked for ssl-session-resumption
};

// What h2o 2.2 promises clients for a configuration (measured with Debian 12's h2o 2.2.5):
// with mode "all" (cache and tickets) the hint is `lifetime` (default 3600 s); with mode
// "ticket" h2o leaves OpenSSL's default, 7200 s, whatever `lifetime` says.
inline constexpr std::int64_t kH2oDefaultLifetime = 3600;
inline constexpr std::int64_t kH2oTicketOnlyLifetimeHint = 7200;

// Warnings about an h2o configuration (YAML text) for this sink's file and lifetime hint.
std::vector<std::string> check_h2o_conf(std::string_view yaml, const std::filesystem::path& file,
                                        std::int64_t lifetime_hint);

class H2oSink final : public Sink {
 public:
  explicit H2oSink(H2oSinkOptions options);

  const std::string& name() const override { return name_; }
  // Writes every key h2o may use (encrypting, next, decrypt-only; never pending ones) with
  // not_before/not_after in Unix seconds; no ring: an empty list, so h2o drops stek's keys.
  Result<SinkReport> apply(const KeyRing* ring, Epoch epoch) override;
  std::vector<std::string> check(const Schedule& schedule) const override;

 private:
  H2oSinkOptions options_;
  std::string name_;
  std::optional<std::time_t> last_mtime_;  // h2o sees a change only when the second changes
};

}  // namespace stek::agent
