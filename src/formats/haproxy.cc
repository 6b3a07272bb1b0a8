// HAProxy's tls-ticket-keys file: base64 lines, one key each. HAProxy keeps the last
// TLS_TICKETS_NO lines (3 in default builds), encrypts with the penultimate and holds the
// last as the pre-shared next key. A young ring (no previous key yet, the first interval
// after stekd's first start) repeats the current key on the previous line: HAProxy needs three
// lines, and a repeated key opens nothing a ring of two would not.
#include <string>

#include "stek/bytes.h"

#include "codecs.h"

namespace stek::formats {

namespace {
constexpr std::size_t kMinHaproxyKeys = 3;  // TLS_TICKETS_NO in default builds
}

Result<KeyRing> read_haproxy(Format format, ByteView contents) {
  const RawLayout layout = raw_layout(format);
  std::string_view text = as_chars(contents);
  std::vector<RingKey> keys;
  std::size_t line_no = 0;
  std::size_t lines = 0;
  while (!text.empty()) {
    const std::size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    auto record = from_base64(line);
    if (!record.ok()) return record.error().with_context("line " + std::to_string(line_no));
    auto key = unpack_record(record->view(), layout);
    if (!key.ok()) return key.error().with_context("line " + std::to_string(line_no));
    ++lines;
    // A line that repeats the line before it (a young ring's padding) is the same key.
    if (!keys.empty() && keys.back().key.name() == key->name()) {
      if (!keys.back().key.same_material(*key)) {
        return make_error(Errc::bad_format, "line " + std::to_string(line_no) +
                                                ": repeats the name of the line before with other "
                                                "key bytes");
      }
      continue;
    }
    keys.push_back({std::move(key).value(), KeyMeta{KeyRole::decrypt, {}, {}, {}, {}, {}}});
  }
  if (lines < kMinHaproxyKeys) {
    return make_error(Errc::bad_format, "file has " + std::to_string(lines) +
                                            " keys; HAProxy needs at least 3 (TLS_TICKETS_NO)");
  }
  if (keys.size() < 2) {
    return make_error(Errc::bad_format, "every line holds the same key; HAProxy needs a next key");
  }
  keys[keys.size() - 1].meta.role = KeyRole::next;
  keys[keys.size() - 2].meta.role = KeyRole::encrypt;
  // Lines are oldest first; the ring lists decrypting keys newest first.
  std::vector<RingKey> ordered;
  for (std::size_t i = keys.size(); i-- > 0;) ordered.push_back(std::move(keys[i]));
  return KeyRing::make(std::move(ordered));
}

Result<SecretBytes> write_haproxy(Format format, const KeyRing& ring) {
  const RawLayout layout = raw_layout(format);
  const std::size_t record = static_cast<std::size_t>(layout.size);
  std::vector<const RingKey*> keys = server_keys(ring);
  const RingKey* next = nullptr;
  std::vector<const RingKey*> older;  // decrypting keys, newest first
  for (const RingKey* k : keys) {
    if (k->meta.role == KeyRole::next && next == nullptr) {
      next = k;
    } else if (k->meta.role == KeyRole::next || k->meta.role == KeyRole::decrypt) {
      older.push_back(k);
    }
  }
  if (next == nullptr) {
    return make_error(Errc::unsupported,
                      "HAProxy encrypts with the penultimate line and needs a next key on the "
                      "last line; the ring has no next key");
  }
  // No previous key yet (a young ring): the current key fills the previous line.
  if (older.empty()) older.push_back(&ring.encrypting());
  std::vector<const RingKey*> lines(older.rbegin(), older.rend());
  lines.push_back(&ring.encrypting());
  lines.push_back(next);
  const std::size_t line_len = 4 * ((record + 2) / 3) + 1;
  SecretBytes out(line_len * lines.size());
  for (std::size_t i = 0; i < lines.size(); ++i) {
    SecretBytes raw(record);
    STEK_TRY(pack_record(lines[i]->key, layout, raw, 0));
    SecretBytes b64 = to_base64(raw.view());
    std::copy(b64.data(), b64.data() + b64.size(), out.data() + i * line_len);
    out.data()[i * line_len + b64.size()] = '\n';
  }
  return out;
}

}  // namespace stek::formats
