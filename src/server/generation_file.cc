// Layout: {"stek_generation": 1, "kek_id": "<hex>", "generation": N, "secret_version": V,
//          "sealed": b64}; the sealed text repeats the two numbers, and only it is trusted.
#include "generation_file.h"

#include <system_error>

#include <nlohmann/json.hpp>

#include "stek/bytes.h"
#include "stek/file.h"

namespace stek::server {

namespace {

using nlohmann::json;
constexpr int kFormat = 1;
constexpr std::string_view kAad = "stek/generation/v1";

std::string mark_text(const HighWaterMark& m) {
  return json{{"generation", m.generation}, {"secret_version", m.secret_version}}.dump();
}

}  // namespace

Result<std::optional<HighWaterMark>> GenerationFile::read() const {
  std::error_code ec;
  if (!std::filesystem::exists(path_, ec) && !ec) return std::optional<HighWaterMark>();
  STEK_ASSIGN_OR_RETURN(SecretBytes raw, read_file(path_, 64 << 10));
  auto damaged = [&](const std::string& why) {
    return make_error(Errc::integrity,
                      path_.string() + ": generation counter is damaged (" + why +
                          "); it guards the state file against old copies, so stekd will not "
                          "start without it. Restore it, or see docs/operating.md, \"Backups\"");
  };
  json doc = json::parse(raw.view().begin(), raw.view().end(), nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return damaged("not valid JSON");
  if (doc.value("stek_generation", 0) != kFormat) return damaged("not a generation counter");
  const std::string kek_id = doc.value("kek_id", std::string());
  if (kek_id != kek_.id) {
    return make_error(Errc::integrity, path_.string() +
                                           ": generation counter was sealed with another KEK "
                                           "(id " +
                                           kek_id + "; the configured KEK has id " + kek_.id + ")");
  }
  const json sealed_text = doc.value("sealed", json());
  if (!sealed_text.is_string()) return damaged("no sealed value");
  auto sealed = from_base64(sealed_text.get<std::string>());
  if (!sealed.ok()) return damaged("sealed value is not base64");
  auto plain = unseal(kek_, sealed->view(), kAad);
  if (!plain.ok()) return damaged(plain.error().message);
  json inner = json::parse(as_chars(plain->view()), nullptr, false);
  HighWaterMark m;
  try {
    m.generation = inner.at("generation").get<std::uint64_t>();
    m.secret_version = inner.at("secret_version").get<std::uint32_t>();
  } catch (const json::exception&) {
    return damaged("sealed value has the wrong fields");
  }
  return std::optional<HighWaterMark>(m);
}

Status GenerationFile::write(const HighWaterMark& mark) {
  const std::string text = mark_text(mark);
  STEK_ASSIGN_OR_RETURN(Bytes sealed, seal(kek_, as_bytes(text), kAad, random_));
  SecretBytes encoded = to_base64(sealed);
  json doc = {{"stek_generation", kFormat},
              {"kek_id", kek_.id},
              {"generation", mark.generation},
              {"secret_version", mark.secret_version},
              {"sealed", std::string(as_chars(encoded.view()))}};
  return write_file_atomic(path_, as_bytes(doc.dump() + "\n"), 0600);
}

}  // namespace stek::server
