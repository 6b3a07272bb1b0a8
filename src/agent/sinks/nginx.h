// nginx sink: one raw key file per key (`ssl_session_ticket_key FILE`), an include file
// that lists them in the order nginx needs (the first encrypts), and a reload when the list
// changes. Files of keys no longer listed are erased after the reload.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "../reload.h"
#include "../sink.h"

namespace stek::agent {

struct NginxSinkOptions {
  std::filesystem::path dir;                        // key files, <name hex>.key, mode 0600 (tmpfs)
  std::filesystem::path include;                    // the file nginx includes in its server blocks
  std::unique_ptr<Reloader> reloader;               // null: never reload (someone else does)
  std::optional<std::filesystem::path> nginx_conf;  // checked for ssl_session_timeout
};

class NginxSink final : public Sink {
 public:
  explicit NginxSink(NginxSinkOptions options);

  const std::string& name() const override { return name_; }
  Result<SinkReport> apply(const KeyRing* ring, Epoch epoch) override;
  void force_next() override { reload_.owe(); }
  // ssl_session_timeout against the schedule, and tenants sharing a listen socket
  // (check_nginx_tenants).
  std::vector<std::string> check(const Schedule& schedule) const override;
  // Writes the keyless include when the include file does not exist yet, so nginx can start
  // before the agent has its first ring. No reload.
  Status prepare();

  // Warnings about nginx's configuration for this lifetime hint and interval (seconds): nginx
  // promises clients ssl_session_timeout, which must stay a margin below how long stek keeps
  // a key (recommended_session_timeout, docs/design.md).
  std::vector<std::string> check_session_timeout(std::int64_t lifetime_hint,
                                                 std::int64_t interval) const;

  // The include file's text for a ring (null: no stek keys).
  std::string include_text(const KeyRing* ring) const;
  std::filesystem::path key_path(const TicketKey& key) const;

 private:
  NginxSinkOptions options_;
  std::string name_;
  OwedReload reload_;                   // the reloader of options_, moved here
  std::optional<Epoch> keyless_epoch_;  // last epoch applied without stek keys
};

}  // namespace stek::agent
