// The etcd store and transports from stekd's [store] section.
#include "etcd_setup.h"

namespace stek::server {

Result<EtcdParts> open_etcd(const ServerConfig& config, Kek kek, Random& random, bool init) {
  etcd::HttpsTransportOptions options;
  for (const std::string& text : config.etcd_endpoints) {
    STEK_ASSIGN_OR_RETURN(net::Url url, net::parse_https_url(text));
    options.endpoints.push_back(std::move(url));
  }
  options.tls = {config.etcd_cert, config.etcd_key, config.etcd_ca};
  options.timeout = std::chrono::milliseconds(config.etcd_timeout_ms);
  EtcdParts parts;
  STEK_ASSIGN_OR_RETURN(parts.store_transport, etcd::HttpsEtcdTransport::make(options));
  STEK_ASSIGN_OR_RETURN(parts.replica_transport, etcd::HttpsEtcdTransport::make(options));
  parts.deny = std::make_unique<EtcdDenyStore>(*parts.store_transport, Kek{kek.key.clone(), kek.id},
                                               random, config.etcd_prefix);
  parts.store = std::make_unique<EtcdStore>(*parts.store_transport, std::move(kek), random,
                                            EtcdStoreOptions{config.etcd_prefix, init});
  return parts;
}

}  // namespace stek::server
