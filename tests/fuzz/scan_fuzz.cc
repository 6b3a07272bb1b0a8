// Fuzz target for stek-scan's parsers of untrusted server bytes. Each input goes through
// every parser; none may crash, hang or read out of bounds, whatever the bytes.
#include <cstddef>
#include <cstdint>

#include "ticket.h"
#include "tls13.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const stek::ByteView in(data, size);
  (void)stek::scan::split_openssl_ticket(in);
  (void)stek::scan::check_zero_key(in);
  (void)stek::scan::tls::parse_new_session_ticket(in, true);
  (void)stek::scan::tls::parse_new_session_ticket(in, false);
  (void)stek::scan::tls::parse_server_hello(in);
  if (auto first = stek::scan::tls::first_server_message(in); first.ok() && first->has_value()) {
    (void)stek::scan::tls::parse_server_hello((*first)->handshake);
  }
  return 0;
}
