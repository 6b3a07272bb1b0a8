// DenyStore: where the deny-list of hosts (deny_list.h) is kept. One stekd keeps it in a file
// beside its state file (FileDenyStore); replicas on etcd share one sealed record in etcd
// (etcd_deny_store.h), so a host denied through one replica is denied by all of them. stekd
// picks the implementation where it picks the state's store; the rest of stekd sees this seam.
#pragma once

#include <filesystem>
#include <set>
#include <string>

#include "stek/result.h"

namespace stek::server {

// Adds (`deny`) or removes `host` in `hosts`.
void set_denied(std::set<std::string>& hosts, const std::string& host, bool deny);

class DenyStore {
 public:
  virtual ~DenyStore() = default;
  // The hosts denied now; nothing stored yet is an empty list. A damaged or rolled-back list
  // is an error, never an empty list: stekd must not forget its denials.
  virtual Result<std::set<std::string>> load() = 0;
  // Adds (`deny`) or removes `host`, reading the list as stored now, so a change another
  // writer made meanwhile is kept; nothing is written when the host is already as asked.
  // Returns whether the stored list changed.
  virtual Result<bool> update(const std::string& host, bool deny) = 0;
  // Where the list lives, for logs ("file /var/lib/stek/state.json.denied.json").
  virtual std::string describe() const = 0;
};

// The JSON file {"denied_hosts": [...]}, replaced atomically (0600); a missing file is an empty
// list, an unreadable or malformed one an error (Errc::io, Errc::bad_format).
class FileDenyStore final : public DenyStore {
 public:
  explicit FileDenyStore(std::filesystem::path path) : path_(std::move(path)) {}

  Result<std::set<std::string>> load() override;
  Result<bool> update(const std::string& host, bool deny) override;
  std::string describe() const override { return "file " + path_.string(); }

  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace stek::server
