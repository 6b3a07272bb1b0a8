// The persisted deny-list of host ids.
#include "deny_list.h"

#include <system_error>

#include <nlohmann/json.hpp>

#include "stek/derive.h"
#include "stek/file.h"

namespace stek::server {

namespace {

constexpr std::size_t kMaxDenyFile = 1 << 20;

Result<std::set<std::string>> read_hosts(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec) && !ec) return std::set<std::string>{};
  STEK_ASSIGN_OR_RETURN(SecretBytes bytes, read_file(path, kMaxDenyFile));
  const auto* begin = reinterpret_cast<const char*>(bytes.data());
  const auto doc = nlohmann::json::parse(begin, begin + bytes.size(), nullptr, false);
  const auto bad = [&] {
    return make_error(Errc::bad_format, path.string() +
                                            ": not a deny-list (expected {\"denied_hosts\": "
                                            "[...]}); fix or remove it");
  };
  if (!doc.is_object() || !doc.contains("denied_hosts") || !doc["denied_hosts"].is_array()) {
    return bad();
  }
  std::set<std::string> hosts;
  for (const auto& h : doc["denied_hosts"]) {
    if (!h.is_string() || !validate_domain_id(h.get<std::string>()).ok()) return bad();
    hosts.insert(h.get<std::string>());
  }
  return hosts;
}

}  // namespace

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

Status DenyList::save(const std::set<std::string>& hosts) const {
  const std::string text = nlohmann::json{{"denied_hosts", hosts}}.dump(2) + "\n";
  return write_file_atomic(
      path_, ByteView(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()), 0600);
}

Result<bool> DenyList::add(const std::string& host) {
  if (auto ok = validate_domain_id(host); !ok.ok()) {
    return make_error(Errc::invalid_argument, "not a host id: " + ok.error().message);
  }
  if (hosts_.contains(host)) return false;
  std::set<std::string> next = hosts_;
  next.insert(host);
  STEK_TRY(save(next));
  hosts_ = std::move(next);
  return true;
}

Result<bool> DenyList::remove(const std::string& host) {
  if (!hosts_.contains(host)) return false;
  std::set<std::string> next = hosts_;
  next.erase(host);
  STEK_TRY(save(next));
  hosts_ = std::move(next);
  return true;
}

Status DenyList::reload() {
  STEK_ASSIGN_OR_RETURN(hosts_, read_hosts(path_));
  return {};
}

}  // namespace stek::server
