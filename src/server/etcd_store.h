// The etcd store: the key server's state as one etcd key per secret under a prefix, each
// value sealed under the KEK exactly as the file store seals its records (AES-256-GCM, the
// record's identity as associated data), plus a sealed manifest:
//   PREFIX/manifest            {"kek_id", "sealed"}: generation, schedules, trusted time and
//                              the list of records with the generation each was made in
//   PREFIX/epoch/E             base64 of the sealed epoch secret
//   PREFIX/domain/D/V          base64 of the sealed secret of domain D, version V
// A record's associated data names its etcd key, its start epoch (domains) and the
// generation that made it, so a value copied to another key, or an old value put back under
// its own key, does not open; the manifest decides which records exist, so a record left
// behind (or put back after erasure) is never read.
//
// A commit is one etcd transaction: it applies only if the manifest is still the one loaded
// (mod_revision) and every new record's key does not exist yet (create_revision == 0), so
// two replicas can never both make a secret for one epoch or one domain-secret version:
// the second one's transaction changes nothing and its commit returns false.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>

#include "stek/random.h"
#include "stek/seal.h"

#include "etcd_transport.h"
#include "store.h"

namespace stek::server {

struct EtcdStoreOptions {
  std::string prefix = "/stek";  // store.prefix, without a trailing slash
  // An empty prefix starts a new state (stekd --init); without it an empty prefix is an error.
  bool init = false;
};

// Errors: Errc::io when etcd cannot be reached or refuses (no quorum); Errc::integrity for a
// record or manifest that does not open (damaged, or another KEK); Errc::rollback when the
// manifest went back to an older generation than this process saw; Errc::not_found for an
// empty prefix without init.
class EtcdStore final : public Store {
 public:
  EtcdStore(etcd::Transport& transport, Kek kek, Random& random, EtcdStoreOptions options);

  Result<StoreState> load() override;
  Result<bool> commit(const StoreState& next, std::uint64_t expected) override;
  std::string describe() const override;

  // The manifest's mod_revision as a serializable read sees it (answered by any member, also
  // without quorum); 0 when there is none. Cheap: replicas poll it to notice commits.
  Result<std::int64_t> manifest_revision();

  const std::string& prefix() const { return options_.prefix; }

 private:
  struct Loaded {
    std::uint64_t generation = 0;
    std::int64_t mod_revision = 0;                 // the manifest's; 0: none yet
    std::map<std::string, std::uint64_t> made_in;  // record key -> generation that made it
    std::uint64_t since = 0;  // the generation that made the manifest key (etcd version 1)
  };
  Result<StoreState> load_locked();

  etcd::Transport& transport_;
  Kek kek_;
  Random& random_;
  EtcdStoreOptions options_;
  std::optional<Loaded> loaded_;
  std::uint64_t seen_generation_ = 0;
  std::mutex mu_;
};

}  // namespace stek::server
