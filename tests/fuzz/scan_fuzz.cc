// Fuzz target for stek-scan's parsers of untrusted server bytes and of the kept-tickets file. Each
// input goes through every parser; none may crash, hang or read out of bounds, whatever the bytes.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "stek/bytes.h"

#include "layout.h"
#include "ticket.h"
#include "tickets_file.h"
#include "tls13.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const stek::ByteView in(data, size);
  (void)stek::scan::split_openssl_ticket(in);
  (void)stek::scan::check_zero_key(in);
  // The layout guess, alone and over the input cut into tickets of its first byte's length.
  const stek::scan::LayoutGuess one = stek::scan::guess_ticket_layout(in);
  (void)stek::scan::key_name_under(one, stek::scan::shape_of(in));
  if (size > 1) {
    const std::size_t step = std::max<std::size_t>(1, data[0]);
    std::vector<stek::scan::TicketShape> shapes;
    std::vector<stek::scan::LayoutGuess> guesses;
    for (std::size_t at = 1; at < size; at += step) {
      const stek::ByteView t = in.subspan(at, std::min(step, size - at));
      shapes.push_back(stek::scan::shape_of(t));
      guesses.push_back(stek::scan::guess_ticket_layout(t));
    }
    const auto all = stek::scan::guess_endpoint_layout(shapes, guesses);
    for (const auto& s : shapes) (void)stek::scan::key_name_under(all, s);
  }
  // The kept-tickets file (merge --cross-resume reads it): a file someone handed over.
  (void)stek::scan::parse_kept_tickets(stek::as_chars(in));
  (void)stek::scan::tls::parse_new_session_ticket(in, true);
  (void)stek::scan::tls::parse_new_session_ticket(in, false);
  (void)stek::scan::tls::parse_server_hello(in);
  if (auto first = stek::scan::tls::first_server_message(in); first.ok() && first->has_value()) {
    (void)stek::scan::tls::parse_server_hello((*first)->handshake);
  }
  return 0;
}
