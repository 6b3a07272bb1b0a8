// The applied-state file: one line per sink,
//   <epoch> <ring version> <secret versions, comma-separated or -> <keys or -> <sink name>
// the sink name last, as the rest of the line. Anything unreadable counts as unconfirmed.
#include "applied_state.h"

#include <algorithm>
#include <charconv>
#include <set>
#include <sstream>

#include "stek/bytes.h"
#include "stek/file.h"

namespace stek::agent {

namespace {

constexpr std::size_t kMaxFileSize = 1 << 20;
constexpr std::string_view kHeader =
    "# stek-agent: what each sink last confirmed applied; rewritten after each apply\n";

template <typename T>
std::string join(const std::vector<T>& items) {
  if (items.empty()) return "-";
  std::ostringstream out;
  for (std::size_t i = 0; i < items.size(); ++i) out << (i ? "," : "") << items[i];
  return out.str();
}

std::vector<std::string> split(const std::string& field) {
  std::vector<std::string> out;
  if (field == "-") return out;
  std::string item;
  std::istringstream in(field);
  while (std::getline(in, item, ',')) out.push_back(item);
  return out;
}

template <typename T>
bool parse_number(const std::string& s, T& out) {
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size();
}

bool parse_line(const std::string& line, std::string& sink, AppliedRecord& r) {
  std::istringstream in(line);
  std::string epoch, version, secrets, keys;
  if (!(in >> epoch >> version >> secrets >> keys)) return false;
  if (!parse_number(epoch, r.epoch) || !parse_number(version, r.ring_version)) return false;
  for (const std::string& s : split(secrets)) {
    std::uint32_t v = 0;
    if (!parse_number(s, v)) return false;
    r.secret_versions.push_back(v);
  }
  r.keys = split(keys);
  in.get();  // the space before the name
  std::getline(in, sink);
  return !sink.empty();
}

}  // namespace

AppliedRecord applied_record(const KeyRing* ring, std::uint64_t ring_version, Epoch epoch) {
  AppliedRecord r;
  r.epoch = epoch;
  if (ring == nullptr) return r;
  r.ring_version = ring_version;
  std::set<std::uint32_t> versions;
  for (const RingKey& k : ring->keys()) {
    if (k.meta.secret_version) versions.insert(*k.meta.secret_version);
    r.keys.push_back(k.key.name_hex() + ":" + std::string(key_role_name(k.meta.role)));
  }
  r.secret_versions.assign(versions.begin(), versions.end());
  return r;
}

Status AppliedState::load() {
  records_.clear();
  std::error_code ec;
  if (!std::filesystem::exists(path_, ec)) return {};
  auto bytes = read_file(path_, kMaxFileSize);
  if (!bytes.ok()) return bytes.error();
  std::istringstream in(std::string(reinterpret_cast<const char*>(bytes->data()), bytes->size()));
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.empty() || line.front() == '#') continue;
    std::string sink;
    AppliedRecord r;
    if (!parse_line(line, sink, r)) {
      records_.clear();
      return make_error(Errc::bad_format,
                        path_.string() + ": line " + std::to_string(number) + " is damaged");
    }
    records_[sink] = std::move(r);
  }
  return {};
}

const AppliedRecord* AppliedState::confirmed(const std::string& sink) const {
  auto it = records_.find(sink);
  return it == records_.end() ? nullptr : &it->second;
}

Status AppliedState::confirm(const std::string& sink, const AppliedRecord& record) {
  if (const AppliedRecord* old = confirmed(sink); old && *old == record) return {};
  // A name that cannot be written on one line is never confirmed: that sink then reloads
  // at every restart, which is safe.
  if (sink.find('\n') != std::string::npos) return {};
  records_[sink] = record;
  std::string text(kHeader);
  for (const auto& [name, r] : records_) {
    text += std::to_string(r.epoch) + " " + std::to_string(r.ring_version) + " " +
            join(r.secret_versions) + " " + join(r.keys) + " " + name + "\n";
  }
  return write_file_atomic(path_, as_bytes(text), 0600);
}

}  // namespace stek::agent
