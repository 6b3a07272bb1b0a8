// Apache httpd sink: the one 48-byte SSLSessionTicketKeyFile (name | HMAC 16 | AES 16, the
// encrypting key's 48-byte projection) and a graceful restart when it changes. Apache holds
// one key and no decrypt-only history, so each rotation ends resumption of older tickets.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "stek/secret.h"

#include "../reload.h"
#include "../sink.h"

namespace stek::agent {

struct ApacheSinkOptions {
  std::filesystem::path key_file;      // SSLSessionTicketKeyFile, mode 0600 (tmpfs)
  std::unique_ptr<Reloader> reloader;  // graceful restart; null: someone else restarts
};

class ApacheSink final : public Sink {
 public:
  explicit ApacheSink(ApacheSinkOptions options);

  const std::string& name() const override { return name_; }
  // Writes the encrypting key's projection and restarts Apache gracefully when it changed.
  // Without a ring the expired key is erased, Apache is not restarted (it would refuse the
  // missing file) and the sink reports the failure until a ring comes back.
  Result<SinkReport> apply(const KeyRing* ring, Epoch epoch) override;
  void force_next() override { reload_.owe(); }
  // What Apache cannot do under this schedule: keep tickets across a rotation, and MAC its
  // tickets with the key it was given (docs/sinks-48.md).
  std::vector<std::string> check(const Schedule& schedule) const override;

  // The key file's 48 bytes for a ring: its encrypting key, projected.
  static Result<SecretBytes> key_file_bytes(const KeyRing& ring);

 private:
  ApacheSinkOptions options_;
  std::string name_;
  OwedReload reload_;  // the reloader of options_, moved here
};

}  // namespace stek::agent
