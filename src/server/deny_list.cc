// The deny-list of host ids in memory, kept in its DenyStore.
#include "deny_list.h"

#include <algorithm>
#include <iterator>
#include <system_error>

#include "stek/derive.h"

#include "audit.h"

namespace stek::server {

DenyList::DenyList(std::filesystem::path path)
    : owned_(std::make_unique<FileDenyStore>(std::move(path))), store_(owned_.get()) {}

Result<DenyList> DenyList::load(const std::filesystem::path& path) {
  DenyList list(path);
  STEK_TRY(list.reload());
  return list;
}

std::filesystem::path DenyList::beside(const std::filesystem::path& state_file) {
  std::filesystem::path p = state_file;
  p += ".denied.json";
  return p;
}

Result<bool> DenyList::change(const std::string& host, bool deny) {
  if (auto ok = validate_domain_id(host); !ok.ok()) {
    return make_error(Errc::invalid_argument, "not a host id: " + ok.error().message);
  }
  STEK_ASSIGN_OR_RETURN(const bool changed, store_->update(host, deny));
  // Only this host changes here. What other writers changed meanwhile reaches this copy through
  // refresh(), the one path that names the hosts it newly denies so that their long polls end.
  set_denied(hosts_, host, deny);
  return changed;
}

Result<bool> DenyList::add(const std::string& host) {
  return change(host, true);
}

Result<bool> DenyList::remove(const std::string& host) {
  return change(host, false);
}

Status DenyList::reload() {
  STEK_ASSIGN_OR_RETURN(hosts_, store_->load());
  return {};
}

Result<std::vector<std::string>> DenyList::refresh() {
  STEK_ASSIGN_OR_RETURN(std::set<std::string> now, store_->load());
  std::vector<std::string> added;
  std::set_difference(now.begin(), now.end(), hosts_.begin(), hosts_.end(),
                      std::back_inserter(added));
  hosts_ = std::move(now);
  return added;
}

Result<std::vector<std::string>> merge_deny_file(const std::filesystem::path& file,
                                                 DenyStore& shared, AuditSink& audit) {
  FileDenyStore old(file);
  STEK_ASSIGN_OR_RETURN(std::set<std::string> hosts, old.load());
  std::error_code ec;
  if (!std::filesystem::exists(file, ec)) return std::vector<std::string>{};
  STEK_ASSIGN_OR_RETURN(std::set<std::string> held, shared.load());
  std::vector<std::string> missing;
  std::set_difference(hosts.begin(), hosts.end(), held.begin(), held.end(),
                      std::back_inserter(missing));
  if (!missing.empty()) {
    // On record before it takes effect, as every change of the list is.
    STEK_TRY(
        audit.record("deny_list_merged",
                     {{"file", file.string()}, {"into", shared.describe()}, {"hosts", missing}}));
    for (const std::string& host : missing) STEK_TRY(shared.update(host, true));
  }
  std::filesystem::path aside = file;
  aside += ".merged";
  std::filesystem::rename(file, aside, ec);
  if (ec) {
    return make_error(Errc::io, file.string() + ": merged into " + shared.describe() +
                                    " but cannot be renamed to " + aside.string() + " (" +
                                    ec.message() +
                                    "); rename or remove it, or its hosts come "
                                    "back at every start");
  }
  return missing;
}

}  // namespace stek::server
