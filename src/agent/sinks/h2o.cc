// The h2o sink.
#include "h2o.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <yaml-cpp/yaml.h>

#include "stek/bytes.h"
#include "stek/file.h"
#include "stek/formats.h"

#include "own_file.h"

namespace stek::agent {

namespace fs = std::filesystem;

std::vector<std::string> check_h2o_conf(std::string_view yaml, const fs::path& file,
                                        std::int64_t lifetime_hint) {
  std::vector<std::string> warnings;
  const std::string want =
      "ssl-session-resumption: {mode: all, ticket-store: file, ticket-file: " + file.string() +
      ", lifetime: " + std::to_string(lifetime_hint) + "}";
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    warnings.push_back("not valid YAML (line " + std::to_string(e.mark.line + 1) + ")");
    return warnings;
  }
  const YAML::Node r = root.IsMap() ? root["ssl-session-resumption"] : YAML::Node();
  auto text = [&](const char* key, const char* fallback) {
    return r && r.IsMap() && r[key] && r[key].IsScalar() ? r[key].Scalar() : std::string(fallback);
  };
  const std::string mode = text("mode", "all");
  if (!r || !r.IsMap() || text("ticket-store", "internal") != "file" ||
      (mode != "all" && mode != "ticket")) {
    warnings.push_back("h2o does not read stek's ticket file: set " + want);
    return warnings;
  }
  if (fs::path(text("ticket-file", "")) != file) {
    warnings.push_back("ticket-file is " + text("ticket-file", "(unset)") + ", not " +
                       file.string() + ": set " + want);
  }
  std::int64_t hint = kH2oDefaultLifetime;
  if (mode == "ticket") {
    hint = kH2oTicketOnlyLifetimeHint;
  } else if (r["lifetime"]) {
    try {
      hint = r["lifetime"].as<std::int64_t>();
    } catch (const YAML::Exception&) {
      warnings.push_back("lifetime is not a number of seconds");
      return warnings;
    }
  }
  if (hint > lifetime_hint) {
    warnings.push_back("h2o promises clients a lifetime hint of " + std::to_string(hint) + " s" +
                       (mode == "ticket" ? " (mode: ticket leaves OpenSSL's default)" : "") +
                       ", longer than stek keeps a key (" + std::to_string(lifetime_hint) +
                       " s): set " + want);
  }
  return warnings;
}

H2oSink::H2oSink(H2oSinkOptions options)
    : options_(std::move(options)), name_("h2o:" + options_.path.string()) {}

Result<SinkReport> H2oSink::apply(const KeyRing* ring, Epoch) {
  SinkReport report;
  SecretBytes bytes;
  if (ring != nullptr) {
    STEK_ASSIGN_OR_RETURN(bytes, write_key_file(Format::h2o, *ring));
  } else {
    bytes = SecretBytes::copy_of(as_bytes("[]\n"));
  }
  STEK_TRY(check_own_file(options_.path));
  STEK_ASSIGN_OR_RETURN(bool wrote, write_file_if_changed(options_.path, bytes.view(), 0600));
  struct stat st {};
  if (::stat(options_.path.c_str(), &st) != 0) {
    return make_error(Errc::io, options_.path.string() + ": stat after writing failed");
  }
  if (wrote && last_mtime_ && st.st_mtime <= *last_mtime_) {
    // h2o re-reads the file when its mtime, in whole seconds, changes: two writes within one
    // second would look like one. Move the new file's mtime past the last one's.
    const timespec times[2] = {{0, UTIME_OMIT}, {*last_mtime_ + 1, 0}};
    if (::utimensat(AT_FDCWD, options_.path.c_str(), times, 0) != 0) {
      return make_error(Errc::io, options_.path.string() + ": cannot set its mtime");
    }
    st.st_mtime = *last_mtime_ + 1;
  }
  last_mtime_ = st.st_mtime;
  report.files_written = wrote ? 1 : 0;
  return report;
}

std::vector<std::string> H2oSink::check(const Schedule& schedule) const {
  if (!options_.h2o_conf) return {};
  auto text = read_file(*options_.h2o_conf, 4 << 20);
  if (!text.ok()) return {"cannot check h2o's configuration: " + text.error().message};
  auto warnings = check_h2o_conf(as_chars(text->view()), options_.path, schedule.lifetime_hint());
  for (auto& w : warnings) w = options_.h2o_conf->string() + ": " + w;
  return warnings;
}

}  // namespace stek::agent
