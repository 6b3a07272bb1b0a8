// stekd's etcd parts made from its configuration: the store, the deny-list record and the
// replica's transport.
#pragma once

#include <memory>

#include "stek/random.h"
#include "stek/seal.h"

#include "config.h"
#include "etcd_deny_store.h"
#include "etcd_store.h"
#include "etcd_transport.h"

namespace stek::server {

struct EtcdParts {
  // Two connections' worth of state: the replica's worker never waits behind a store request.
  std::unique_ptr<etcd::HttpsEtcdTransport> store_transport;
  std::unique_ptr<etcd::HttpsEtcdTransport> replica_transport;
  std::unique_ptr<EtcdStore> store;
  std::unique_ptr<EtcdDenyStore> deny;  // the hosts' deny-list, shared by the replicas
};

// Loads the TLS files (errors name them); contacts nothing yet.
Result<EtcdParts> open_etcd(const ServerConfig& config, Kek kek, Random& random, bool init);

}  // namespace stek::server
