// libstek: stek tickets sealed and opened outside any handshake, in OpenSSL's layout (the one
// nginx, HAProxy and Apache use). For the fuzz target, benchmarks and tools that read tickets.
#pragma once

#include <cstddef>
#include <memory>
#include <string_view>

#include "stek/bytes.h"
#include "stek/random.h"
#include "stek/result.h"
#include "stek/ring.h"
#include "stek/secret.h"

namespace stek::openssl {

// Tickets use OpenSSL's layout (kTicketIvSize and friends in stek/key.h). 80-byte keys use
// AES-256-CBC with a 32-byte HMAC key; 48-byte keys AES-128-CBC with a 16-byte HMAC key (as
// nginx does).

// What one ticket operation decided for one handshake.
enum class TicketResult {
  ok,           // opened by the current key: resume
  renew,        // opened by an older (or next) key: resume and issue a ticket under the current key
  unknown_key,  // no held key has this name: full handshake
  invalid,      // a held key's name but bad MAC, padding or size: full handshake
};
std::string_view ticket_result_name(TicketResult result);

struct OpenedTicket {
  TicketResult result = TicketResult::invalid;
  // The serialised session (it holds the master secret), for ok and renew.
  ByteView plaintext() const { return storage.view(0, length); }
  bool resumes() const { return result == TicketResult::ok || result == TicketResult::renew; }

  SecretBytes storage;  // wiped on destruction; may be longer than the plaintext
  std::size_t length = 0;
};

// Seals and opens tickets in OpenSSL's layout with the keys of a ring: used by the fuzz target,
// the benchmark and by tools that read tickets. Reuses its OpenSSL contexts, so one TicketCodec
// per thread; not thread-safe.
class TicketCodec {
 public:
  static Result<TicketCodec> make();
  TicketCodec(TicketCodec&&) noexcept;
  TicketCodec& operator=(TicketCodec&&) noexcept;
  ~TicketCodec();

  // Seals under the ring's encrypting key with a fresh IV from random.
  Result<Bytes> seal(const KeyRing& ring, ByteView plaintext, Random& random);
  // Seals under a given key and IV (16 bytes): for test vectors and benchmarks.
  Result<Bytes> seal_with(const TicketKey& key, ByteView iv, ByteView plaintext);
  // Never fails on untrusted input: the result says what happened.
  OpenedTicket open(const KeyRing& ring, ByteView ticket);

 private:
  struct Impl;
  explicit TicketCodec(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace stek::openssl
