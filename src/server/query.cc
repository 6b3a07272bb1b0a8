// Decoding of request targets (moved unchanged from key_server.cc).
#include "query.h"

#include <cctype>
#include <exception>

namespace stek::server {

Result<std::string> percent_decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out.push_back(' ');
    } else if (s[i] == '%') {
      if (i + 2 >= s.size() || !std::isxdigit(static_cast<unsigned char>(s[i + 1])) ||
          !std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
        return make_error(Errc::bad_format, "bad percent-encoding");
      }
      out.push_back(static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

Result<std::map<std::string, std::string>> parse_query(std::string_view q) {
  std::map<std::string, std::string> out;
  while (!q.empty()) {
    const auto amp = q.find('&');
    std::string_view pair = q.substr(0, amp);
    q = amp == std::string_view::npos ? std::string_view{} : q.substr(amp + 1);
    if (pair.empty()) continue;
    const auto eq = pair.find('=');
    STEK_ASSIGN_OR_RETURN(std::string key, percent_decode(pair.substr(0, eq)));
    STEK_ASSIGN_OR_RETURN(std::string value,
                          percent_decode(eq == std::string_view::npos ? "" : pair.substr(eq + 1)));
    if (!out.emplace(key, value).second) {
      return make_error(Errc::bad_format, "query parameter \"" + key + "\" given twice");
    }
  }
  return out;
}

Result<std::uint64_t> parse_u64(const std::string& s, const char* what) {
  if (s.empty() || s.size() > 20 || s.find_first_not_of("0123456789") != std::string::npos) {
    return make_error(Errc::bad_format, std::string(what) + " must be a non-negative integer");
  }
  try {
    return static_cast<std::uint64_t>(std::stoull(s));
  } catch (const std::exception&) {
    return make_error(Errc::bad_format, std::string(what) + " is out of range");
  }
}

}  // namespace stek::server
