// Internal: one codec per family of product formats, dispatched from format.cc.
#pragma once

#include "stek/formats.h"

namespace stek::formats {

// Byte order of the two secrets after the 16-byte name in raw records.
enum class Order { aes_then_hmac, hmac_then_aes };

struct RawLayout {
  KeySize size;
  Order order;
};

// The layout of one raw record in each product (docs/formats.md cites the sources).
RawLayout raw_layout(Format format);

Result<TicketKey> unpack_record(ByteView record, RawLayout layout);
// Appends name | secrets in the layout's order; the key must have the layout's size.
Status pack_record(const TicketKey& key, RawLayout layout, SecretBytes& out, std::size_t offset);

Result<KeyRing> read_raw(Format format, ByteView contents);
Result<SecretBytes> write_raw(Format format, const KeyRing& ring);
Result<KeyRing> read_haproxy(Format format, ByteView contents);
Result<SecretBytes> write_haproxy(Format format, const KeyRing& ring);
Result<KeyRing> read_h2o(ByteView contents, const ReadOptions& options);
Result<SecretBytes> write_h2o(const KeyRing& ring);
Result<KeyRing> read_json(ByteView contents);
Result<SecretBytes> write_json(const KeyRing& ring, const WriteOptions& options);

// Keys a server is given: every key except pending ones, which no product can hold
// without using them.
std::vector<const RingKey*> server_keys(const KeyRing& ring);
// The size all keys share, or an error naming the format.
Result<KeySize> uniform_key_size(Format format, const std::vector<const RingKey*>& keys);

}  // namespace stek::formats
