// The runtime API client and the parsers of its answers.
#include "haproxy_cli.h"

#include <cerrno>
#include <charconv>
#include <cstring>

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "stek/bytes.h"

namespace stek::agent {

namespace {

// Closes the descriptor on every path.
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

std::string_view next_line(std::string_view& text) {
  const std::size_t end = text.find('\n');
  std::string_view line = text.substr(0, end);
  text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

bool parse_int(std::string_view s, int& out) {
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size() && !s.empty();
}

// HAProxy's errors start with the command in quotes, e.g. "'show tls-keys' unable to ...".
std::string first_line(std::string_view answer) {
  std::string line(next_line(answer));
  if (line.size() > 200) line.resize(200);
  return line;
}

}  // namespace

Result<SecretString> HaproxyCli::command(std::string_view line) const {
  const std::string where = "HAProxy runtime API " + socket_.string();
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_.string().size() >= sizeof addr.sun_path) {
    return make_error(Errc::invalid_argument, where + ": path too long for a unix socket");
  }
  std::memcpy(addr.sun_path, socket_.c_str(), socket_.string().size());
  Fd s{::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)};
  if (s.fd < 0) return make_error(Errc::io, where + ": socket: " + std::strerror(errno));
  if (::connect(s.fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    const int err = errno;
    const Errc code = err == ENOENT || err == ECONNREFUSED || err == EACCES || err == ENOTSOCK
                          ? Errc::not_found
                          : Errc::io;
    return make_error(code, where + ": connect: " + std::strerror(err));
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout_;
  auto wait_for = [&](short events) -> Status {
    while (true) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        return make_error(Errc::io,
                          where + ": no answer within " + std::to_string(timeout_.count()) + " ms");
      }
      pollfd p{s.fd, events, 0};
      const int r = ::poll(&p, 1, static_cast<int>(left.count()));
      if (r > 0) return {};
      if (r < 0 && errno != EINTR)
        return make_error(Errc::io, where + ": poll: " + std::strerror(errno));
    }
  };
  // The command may carry a key (set ssl tls-key): built in wiping memory.
  SecretString out(line);
  out += '\n';
  std::size_t sent = 0;
  while (sent < out.size()) {
    STEK_TRY(wait_for(POLLOUT));
    const ssize_t n = ::send(s.fd, out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return make_error(Errc::io, where + ": send: " + std::strerror(errno));
    sent += static_cast<std::size_t>(n);
  }
  SecretString answer;
  char buf[4096];
  while (true) {
    STEK_TRY(wait_for(POLLIN));
    const ssize_t n = ::recv(s.fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      secure_wipe(buf, sizeof buf);
      return make_error(Errc::io, where + ": recv: " + std::strerror(errno));
    }
    if (n == 0) break;
    answer.append(buf, static_cast<std::size_t>(n));
    if (answer.size() > (1u << 20)) {
      secure_wipe(buf, sizeof buf);
      return make_error(Errc::io, where + ": answer longer than 1 MiB");
    }
  }
  secure_wipe(buf, sizeof buf);
  return answer;
}

Result<std::vector<TlsKeysRef>> parse_tls_keys_refs(std::string_view answer) {
  std::vector<TlsKeysRef> refs;
  bool header = false;
  while (!answer.empty()) {
    const std::string_view line = next_line(answer);
    if (line.empty()) continue;
    if (line.front() == '#') {
      header = true;
      continue;
    }
    const std::size_t space = line.find(' ');
    TlsKeysRef ref;
    if (!header || space == std::string_view::npos || !parse_int(line.substr(0, space), ref.id) ||
        line.size() < space + 3 || line[space + 1] != '(' || line.back() != ')') {
      return make_error(Errc::bad_format,
                        "unexpected answer to \"show tls-keys\": " + first_line(line));
    }
    ref.file = std::string(line.substr(space + 2, line.size() - space - 3));
    refs.push_back(std::move(ref));
  }
  if (!header) {
    return make_error(Errc::bad_format,
                      "unexpected answer to \"show tls-keys\": " + first_line(answer));
  }
  return refs;
}

Result<std::vector<SecretBytes>> parse_tls_keys_dump(std::string_view answer) {
  std::vector<SecretBytes> keys;
  bool header = false;
  std::size_t line_no = 0;
  std::string_view rest = answer;
  while (!rest.empty()) {
    const std::string_view line = next_line(rest);
    ++line_no;
    if (line.empty()) continue;
    if (line.front() == '#') {
      header = true;
      continue;
    }
    // "<id>.<slot> <base64>"; the slots come in HAProxy's key order.
    const std::size_t space = line.find(' ');
    const std::size_t dot = line.find('.');
    int id = 0, slot = 0;
    if (!header || space == std::string_view::npos || dot == std::string_view::npos ||
        dot > space || !parse_int(line.substr(0, dot), id) ||
        !parse_int(line.substr(dot + 1, space - dot - 1), slot) ||
        slot != static_cast<int>(keys.size())) {
      // The first line of a refusal quotes only the command, never key bytes.
      if (!header) {
        return make_error(Errc::bad_format,
                          "unexpected answer to \"show tls-keys\": " + first_line(answer));
      }
      return make_error(Errc::bad_format, "line " + std::to_string(line_no) +
                                              " of the \"show tls-keys\" answer is not "
                                              "\"<id>.<slot> <base64 key>\"");
    }
    auto key = from_base64(line.substr(space + 1));
    if (!key.ok()) {
      return make_error(Errc::bad_format, "line " + std::to_string(line_no) +
                                              " of the \"show tls-keys\" answer: the key is not "
                                              "base64");
    }
    keys.push_back(std::move(key).value());
  }
  if (keys.empty()) {
    return make_error(Errc::bad_format,
                      "the \"show tls-keys\" answer lists no key: " + first_line(answer));
  }
  return keys;
}

Status check_set_tls_key_answer(std::string_view answer) {
  if (answer.rfind("TLS ticket key updated!", 0) == 0) return {};
  return make_error(Errc::io, "HAProxy refused \"set ssl tls-key\": " + first_line(answer));
}

}  // namespace stek::agent
