// DenyList: host ids that stekd refuses whatever their certificate says (docs/operating.md,
// "Responding to a compromised location"). Managed through the admin API; kept in a small
// JSON file beside the state file, replaced atomically (0600) before a change takes effect,
// so a denial survives a restart.
#pragma once

#include <filesystem>
#include <set>
#include <string>

#include "stek/result.h"

namespace stek::server {

class DenyList {
 public:
  // The list in `path`; a missing file is an empty list, an unreadable or malformed one an
  // error (Errc::io, Errc::bad_format): stekd must not start forgetting its denials.
  static Result<DenyList> load(const std::filesystem::path& path);
  // An empty list kept in `path`; reload() reads what the file holds.
  explicit DenyList(std::filesystem::path path) : path_(std::move(path)) {}
  // `<store.path>.denied.json`: the file beside the state file.
  static std::filesystem::path beside(const std::filesystem::path& state_file);

  bool contains(const std::string& host) const { return hosts_.contains(host); }
  const std::set<std::string>& hosts() const { return hosts_; }

  // Adds or removes a host; the file is written first, so a failed write changes nothing.
  // Returns whether the list changed. Errc::invalid_argument for an id no certificate can
  // carry (api/identity.h).
  Result<bool> add(const std::string& host);
  Result<bool> remove(const std::string& host);
  // Reads the file (at start, and again on SIGHUP); on error the list in memory is kept.
  Status reload();

 private:
  Status save(const std::set<std::string>& hosts) const;

  std::filesystem::path path_;
  std::set<std::string> hosts_;
};

}  // namespace stek::server
