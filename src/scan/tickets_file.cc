// Writing and reading the kept-tickets file (see tickets_file.h).
#include "tickets_file.h"

#include <charconv>

#include <fmt/format.h>

#include "stek/bytes.h"

namespace stek::scan {

namespace {

// Fields are separated by single spaces; none may be empty or hold whitespace.
bool is_field(std::string_view s) {
  if (s.empty() || s.size() > 256) return false;
  for (char c : s) {
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || static_cast<unsigned char>(c) < 0x20) {
      return false;
    }
  }
  return true;
}

std::vector<std::string_view> split_fields(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t at = 0;
  while (at <= line.size() && out.size() < 16) {
    const std::size_t sp = line.find(' ', at);
    const std::size_t end = sp == std::string_view::npos ? line.size() : sp;
    out.push_back(line.substr(at, end - at));
    if (sp == std::string_view::npos) break;
    at = sp + 1;
  }
  return out;
}

template <class T>
bool parse_number(std::string_view s, T& out) {
  if (s.empty() || s.size() > 20) return false;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size();
}

Error bad(std::size_t line, std::string_view what) {
  return make_error(Errc::invalid_argument, fmt::format("tickets file, line {}: {}", line, what));
}

}  // namespace

SecretString format_kept_tickets(const std::vector<KeptTicket>& tickets) {
  SecretString out;
  out += fmt::format("{} {} {}\n", kTicketsMagic, kTicketsVersion, tickets.size());
  out +=
      "# stek-scan's own resumable TLS sessions: whoever holds this file can resume them. "
      "Keep it secret.\n";
  for (const KeptTicket& t : tickets) {
    out += fmt::format("ticket {} {} {} {} {} ", t.endpoint, t.sni.empty() ? "-" : t.sni,
                       t.tls_version, t.issued_ms, t.lifetime_hint_s);
    const SecretBytes b64 = to_base64(t.session.view());
    out.append(as_chars(b64.view()));
    out += '\n';
  }
  return out;
}

Result<std::vector<KeptTicket>> parse_kept_tickets(std::string_view text) {
  std::vector<KeptTicket> out;
  std::size_t line_no = 0;
  std::size_t expected = 0;
  bool header = false;
  std::size_t at = 0;
  while (at < text.size()) {
    std::size_t nl = text.find('\n', at);
    if (nl == std::string_view::npos) nl = text.size();
    const std::string_view line = text.substr(at, nl - at);
    at = nl + 1;
    ++line_no;
    if (!header) {
      const auto f = split_fields(line);
      if (f.size() != 3 || f[0] != kTicketsMagic) {
        return bad(line_no, fmt::format("not a stek-scan tickets file (expected '{} {} COUNT')",
                                        kTicketsMagic, kTicketsVersion));
      }
      int version = 0;
      if (!parse_number(f[1], version) || version != kTicketsVersion) {
        return bad(line_no, fmt::format("version {} is not supported (expected {})",
                                        f[1].substr(0, 16), kTicketsVersion));
      }
      if (!parse_number(f[2], expected) || expected > kMaxKeptTickets) {
        return bad(line_no, fmt::format("ticket count must be 0 to {}", kMaxKeptTickets));
      }
      header = true;
      continue;
    }
    if (line.empty() || line.front() == '#') continue;
    const auto f = split_fields(line);
    if (f.size() != 7 || f[0] != "ticket") {
      return bad(line_no,
                 "expected 'ticket ENDPOINT SNI TLS_VERSION ISSUED_MS HINT_S SESSION_BASE64'");
    }
    if (out.size() == expected) return bad(line_no, "more tickets than the header's count");
    for (std::size_t i = 1; i < 6; ++i) {
      if (!is_field(f[i])) return bad(line_no, fmt::format("field {} is empty or too long", i));
    }
    KeptTicket t;
    t.endpoint = std::string(f[1]);
    t.sni = f[2] == "-" ? std::string() : std::string(f[2]);
    t.tls_version = std::string(f[3]);
    if (!parse_number(f[4], t.issued_ms) || t.issued_ms < 0) {
      return bad(line_no, "issue time is not a Unix time in milliseconds");
    }
    if (!parse_number(f[5], t.lifetime_hint_s))
      return bad(line_no, "lifetime hint is not a number");
    if (f[6].size() > (kMaxSessionBytes + 2) / 3 * 4) return bad(line_no, "session too long");
    auto session = from_base64(f[6]);
    if (!session.ok() || session->empty()) return bad(line_no, "session is not valid base64");
    t.session = std::move(session).value();
    out.push_back(std::move(t));
  }
  if (!header) return bad(1, "empty file: not a stek-scan tickets file");
  if (out.size() != expected) {
    return bad(line_no, fmt::format("truncated: {} of {} tickets", out.size(), expected));
  }
  return out;
}

}  // namespace stek::scan
