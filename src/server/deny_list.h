// DenyList: host ids that stekd refuses whatever their certificate says (docs/operating.md,
// "Responding to a compromised location"). Managed through the admin API; kept in a DenyStore
// (deny_store.h: a small JSON file beside the state file, or one record in etcd shared by the
// replicas), written before a change takes effect, so a denial survives a restart. This is
// the copy in memory that every request is checked against.
#pragma once

#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "stek/result.h"

#include "deny_store.h"

namespace stek::server {

class DenyList {
 public:
  // The list in the file `path`; a missing file is an empty list, an unreadable or malformed
  // one an error (Errc::io, Errc::bad_format): stekd must not start forgetting its denials.
  static Result<DenyList> load(const std::filesystem::path& path);
  // An empty list kept in the file `path`; reload() reads what the file holds.
  explicit DenyList(std::filesystem::path path);
  // An empty list kept in `store` (not owned); reload() reads what it holds.
  explicit DenyList(DenyStore& store) : store_(&store) {}
  // `<store.path>.denied.json`: the file beside the state file.
  static std::filesystem::path beside(const std::filesystem::path& state_file);

  bool contains(const std::string& host) const { return hosts_.contains(host); }
  const std::set<std::string>& hosts() const { return hosts_; }
  std::string describe() const { return store_->describe(); }

  // Adds or removes a host; the store is written first, so a failed write changes nothing.
  // Returns whether the stored list changed. Errc::invalid_argument for an id no certificate
  // can carry (api/identity.h). Only this host changes in the copy in memory: what other
  // replicas changed meanwhile comes with the next refresh(), which names what it denies.
  Result<bool> add(const std::string& host);
  Result<bool> remove(const std::string& host);
  // Reads the store (at start, on SIGHUP, when another replica changed it); on error the list
  // in memory is kept. refresh() also returns the hosts it denies that were not denied before,
  // whose open long polls the caller ends.
  Status reload();
  Result<std::vector<std::string>> refresh();

 private:
  Result<bool> change(const std::string& host, bool deny);

  std::unique_ptr<DenyStore> owned_;  // the file store of the path constructors
  DenyStore* store_;
  std::set<std::string> hosts_;
};

// A replica on etcd that finds a deny-list file of its single-box days (`file`) merges it into
// the shared list, so no denial is forgotten: the hosts etcd lacks are audited
// (deny_list_merged) and added, then the file is renamed to `<file>.merged` so a later
// `deny remove` is not undone at the next start. Returns the hosts added. Any failure (the
// audit, etcd, the rename) is an error: stekd then refuses to start.
class AuditSink;
Result<std::vector<std::string>> merge_deny_file(const std::filesystem::path& file,
                                                 DenyStore& shared, AuditSink& audit);

}  // namespace stek::server
