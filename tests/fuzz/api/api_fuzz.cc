// Fuzz target: every parser of src/api on the same input. None may crash; whatever one
// accepts must survive the trip back through its encoder (encode, then parse, gives the same
// value), and what the encoders write must parse.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "api/host_port.h"
#include "api/http.h"
#include "api/identity.h"
#include "api/percent.h"
#include "api/query.h"
#include "api/ring_version.h"

using namespace stek;
using namespace stek::api;

namespace {

void check(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "invariant violated: %s\n", what);
  std::abort();
}

bool only_unreserved_and_escapes(std::string_view s) {
  for (const char c : s) {
    const bool plain = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                       c == '-' || c == '.' || c == '_' || c == '~' || c == '%';
    if (!plain) return false;
  }
  return true;
}

void percent(std::string_view text) {
  const std::string encoded = percent_encode(text);
  check(only_unreserved_and_escapes(encoded), "encoder left a reserved byte");
  for (const Plus plus : {Plus::literal, Plus::space}) {
    auto back = percent_decode(encoded, plus);
    check(back.ok() && *back == text, "percent round trip");
    if (auto decoded = percent_decode(text, plus); decoded.ok()) {
      check(decoded->size() <= text.size(), "decoding grew the text");
      auto again = percent_decode(percent_encode(*decoded));
      check(again.ok() && *again == *decoded, "decoded text does not round trip");
    }
  }
  const std::string quoted = quote_for_message(text);
  for (const char c : quoted) check(c >= 0x20 && c < 0x7f, "unprintable byte in a message");
}

void query(std::string_view text) {
  if (auto params = parse_query(text); params.ok()) {
    std::string rebuilt;
    for (const auto& [name, value] : *params) {
      rebuilt += (rebuilt.empty() ? "" : "&") + percent_encode(name) + "=" + percent_encode(value);
    }
    auto again = parse_query(rebuilt);
    check(again.ok() && *again == *params, "query round trip");
  }
  if (auto q = parse_keyring_query(text); q.ok()) {
    check(!q->domain || !q->domain->empty(), "empty domain kept");
    check(!q->timeout || *q->timeout >= 1, "timeout 0 accepted");
    const std::string target = keyring_target(*q);
    const Target t = split_target(target);
    check(t.path == kKeyringPath, "keyring target has another path");
    auto again = parse_keyring_query(t.query);
    check(again.ok() && *again == *q, "keyring query round trip");
  }
  if (auto domain = rotate_secret_domain(text); domain.ok()) {
    auto again = rotate_secret_domain(rotate_secret_path(*domain));
    check(again.ok() && *again == *domain, "rotate-secret path round trip");
  }
}

void host_port(std::string_view text) {
  for (const HostPortRules rules :
       {HostPortRules{}, HostPortRules{.default_port = 443, .allow_port_zero = false},
        HostPortRules{.default_port = std::nullopt, .allow_port_zero = true}}) {
    auto hp = parse_host_port(text, rules);
    if (!hp.ok()) continue;
    check(!hp->host.empty(), "empty host accepted");
    check(hp->port != 0 || rules.allow_port_zero, "port 0 accepted");
    auto again = parse_host_port(hp->text(), rules);
    check(again.ok() && again->host == hp->host && again->port == hp->port, "HOST:PORT round trip");
  }
}

void ring_version(std::string_view text) {
  if (auto v = parse_ring_version(text, "wait"); v.ok()) {
    auto again = parse_ring_version(to_string(*v), "wait");
    check(again.ok() && *again == *v, "ring version round trip");
    auto made = RingVersion::make(v->epoch(), v->secret_version());
    check(made.ok() && made->wire() == v->wire(), "ring version parts round trip");
  }
}

void identity(std::string_view text) {
  std::vector<std::string> uris;
  std::size_t start = 0;
  while (start <= text.size()) {
    const auto nl = text.find('\n', start);
    const auto end = nl == std::string_view::npos ? text.size() : nl;
    uris.emplace_back(text.substr(start, end - start));
    start = end + 1;
  }
  auto id = identity_from_uris(uris);
  if (!id.ok()) return;
  if (id->kind == Identity::Kind::admin) {
    check(id->domains.empty(), "admin with domains");
  } else {
    check(!id->domains.empty(), "host without a domain");
  }
  auto encoded = identity_uris(*id);
  check(encoded.ok(), "accepted identity does not encode");
  auto again = identity_from_uris(*encoded);
  check(again.ok() && *again == *id, "identity round trip");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  percent(text);
  query(text);
  host_port(text);
  ring_version(text);
  identity(text);
  return 0;
}
