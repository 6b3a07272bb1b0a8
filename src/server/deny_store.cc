// The deny-list file of one stekd.
#include "deny_store.h"

#include <system_error>

#include <nlohmann/json.hpp>

#include "stek/derive.h"
#include "stek/file.h"

namespace stek::server {

namespace {

constexpr std::size_t kMaxDenyFile = 1 << 20;

}  // namespace

void set_denied(std::set<std::string>& hosts, const std::string& host, bool deny) {
  if (deny) {
    hosts.insert(host);
  } else {
    hosts.erase(host);
  }
}

Result<std::set<std::string>> FileDenyStore::load() {
  std::error_code ec;
  if (!std::filesystem::exists(path_, ec) && !ec) return std::set<std::string>{};
  STEK_ASSIGN_OR_RETURN(SecretBytes bytes, read_file(path_, kMaxDenyFile));
  const auto* begin = reinterpret_cast<const char*>(bytes.data());
  const auto doc = nlohmann::json::parse(begin, begin + bytes.size(), nullptr, false);
  const auto bad = [&] {
    return make_error(Errc::bad_format, path_.string() +
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

Result<bool> FileDenyStore::update(const std::string& host, bool deny) {
  STEK_ASSIGN_OR_RETURN(std::set<std::string> hosts, load());
  if (hosts.contains(host) == deny) return false;
  set_denied(hosts, host, deny);
  const std::string text = nlohmann::json{{"denied_hosts", hosts}}.dump(2) + "\n";
  STEK_TRY(write_file_atomic(
      path_, ByteView(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()), 0600));
  return true;
}

}  // namespace stek::server
