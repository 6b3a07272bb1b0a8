// Traffic Server sink: the ticket key file of proxy.config.ssl.server.ticket_key.filename,
// N records of name | HMAC 16 | AES 16 (each key's 48-byte projection; the first encrypts,
// every one decrypts), and `traffic_ctl config reload` when it changes.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "stek/secret.h"

#include "../reload.h"
#include "../sink.h"

namespace stek::agent {

struct AtsSinkOptions {
  std::filesystem::path key_file;      // the ticket key file, mode 0600 (tmpfs)
  std::unique_ptr<Reloader> reloader;  // traffic_ctl config reload; null: someone else does
};

class AtsSink final : public Sink {
 public:
  explicit AtsSink(AtsSinkOptions options);

  const std::string& name() const override { return name_; }
  // Writes the ring's server keys (encrypting, next, decrypt-only; no pending key) and asks
  // Traffic Server to reload when they changed. Without a ring the file is erased and
  // Traffic Server keeps the keys it loaded until it restarts (then it makes its own).
  Result<SinkReport> apply(const KeyRing* ring, Epoch epoch) override;
  void force_next() override { reload_.owe(); }

  // The file's bytes for a ring: one 48-byte record per server key, the encrypting key first.
  static Result<SecretBytes> key_file_bytes(const KeyRing& ring);

 private:
  AtsSinkOptions options_;
  std::string name_;
  OwedReload reload_;  // the reloader of options_, moved here
};

}  // namespace stek::agent
