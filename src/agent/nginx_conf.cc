// A tokenizer for nginx configuration files and nginx's time syntax.
#include "nginx_conf.h"

#include <algorithm>
#include <limits>

#include <glob.h>

#include "stek/file.h"

namespace stek::agent {

namespace fs = std::filesystem;

std::int64_t recommended_session_timeout(std::int64_t lifetime_hint, std::int64_t interval) {
  return lifetime_hint - std::min(kSessionTimeoutMargin, interval);
}

Result<std::int64_t> parse_nginx_time(std::string_view text) {
  auto bad = [&](const std::string& why) {
    return make_error(Errc::bad_format, "\"" + std::string(text) + "\" is not an nginx time (" +
                                            why + "; e.g. 300, 5m, 18h, 1d)");
  };
  struct Unit {
    char c;
    std::int64_t seconds;
  };
  static constexpr Unit kUnits[] = {
      {'y', 365 * 86400}, {'M', 30 * 86400}, {'w', 7 * 86400}, {'d', 86400},
      {'h', 3600},        {'m', 60},         {'s', 1}};
  // nginx allows up to its maximum int; anything near that is nonsense for tickets anyway.
  constexpr std::int64_t kMax = std::int64_t{1} << 50;
  std::int64_t total = 0;
  std::int64_t value = -1;    // digits seen since the last unit, -1 if none
  std::size_t next_unit = 0;  // units must come in decreasing order, each once
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c >= '0' && c <= '9') {
      value = (value < 0 ? 0 : value) * 10 + (c - '0');
      if (value > kMax) return bad("too large");
      continue;
    }
    if (c == ' ') {
      if (value >= 0) return bad("a number without a unit must come last");
      continue;
    }
    if (c == 'm' && i + 1 < text.size() && text[i + 1] == 's') {
      return bad("milliseconds are not allowed here");
    }
    std::size_t u = next_unit;
    while (u < std::size(kUnits) && kUnits[u].c != c) ++u;
    if (u == std::size(kUnits)) {
      for (const Unit& known : kUnits) {
        if (known.c == c) return bad("units must decrease and appear once");
      }
      return bad(std::string("unknown unit '") + c + "'");
    }
    if (value < 0) return bad("a unit without a number");
    if (value > kMax / kUnits[u].seconds) return bad("too large");
    total += value * kUnits[u].seconds;
    if (total > kMax) return bad("too large");
    value = -1;
    next_unit = u + 1;
  }
  if (value >= 0)
    total += value;
  else if (next_unit == 0)
    return bad("empty");
  if (total > kMax) return bad("too large");
  return total;
}

namespace {

constexpr int kMaxIncludeDepth = 16;
constexpr std::size_t kMaxFiles = 512;

struct Token {
  enum Kind { word, semicolon, open, close } kind;
  std::string text;
  int line;
};

Result<std::vector<Token>> tokenize(std::string_view s, const std::string& file) {
  std::vector<Token> out;
  int line = 1;
  std::size_t i = 0;
  while (i < s.size()) {
    const char c = s[i];
    if (c == '\n') {
      ++line;
      ++i;
    } else if (c == ' ' || c == '\t' || c == '\r') {
      ++i;
    } else if (c == '#') {
      while (i < s.size() && s[i] != '\n') ++i;
    } else if (c == ';' || c == '{' || c == '}') {
      out.push_back({c == ';'   ? Token::semicolon
                     : c == '{' ? Token::open
                                : Token::close,
                     {},
                     line});
      ++i;
    } else if (c == '"' || c == '\'') {
      const int start = line;
      std::string word;
      ++i;
      while (i < s.size() && s[i] != c) {
        if (s[i] == '\\' && i + 1 < s.size()) ++i;
        if (s[i] == '\n') ++line;
        word.push_back(s[i++]);
      }
      if (i >= s.size()) {
        return make_error(Errc::bad_format,
                          file + ":" + std::to_string(start) + ": unterminated quote");
      }
      ++i;
      out.push_back({Token::word, std::move(word), start});
    } else {
      std::string word;
      while (i < s.size() && s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n' &&
             s[i] != ';' && s[i] != '{' && s[i] != '}') {
        if (s[i] == '\\' && i + 1 < s.size()) ++i;
        word.push_back(s[i++]);
      }
      out.push_back({Token::word, std::move(word), line});
    }
  }
  return out;
}

struct Walk {
  fs::path base;  // relative includes resolve against the main file's directory
  std::vector<SessionTimeout> found;
  std::vector<NginxServer> servers;
  std::vector<std::string> blocks;  // names of the open blocks, outermost first (across files)
  bool in_server = false;           // inside http { server { ... } }: servers.back()
  std::size_t files = 0;
};

// A listen directive's address as "address:port"; nginx's defaults: port 80, any address.
std::string listen_socket(const std::string& arg) {
  if (arg.rfind("unix:", 0) == 0) return arg;
  if (arg.find_first_not_of("0123456789") == std::string::npos) return "*:" + arg;
  const std::size_t bracket = arg.rfind(']');
  const std::size_t colon = arg.rfind(':');
  const bool has_port = colon != std::string::npos &&
                        (bracket == std::string::npos || colon > bracket) &&
                        (arg[0] == '[' || arg.find(':') == colon);
  return has_port ? arg : arg + ":80";
}

void on_open(const std::vector<const Token*>& statement, const std::string& where, Walk& walk) {
  const std::string name = statement.empty() ? "" : statement[0]->text;
  if (name == "server" && walk.blocks.size() == 1 && walk.blocks[0] == "http") {
    walk.servers.push_back({where, {}, {}, {}, false});
    walk.in_server = true;
  }
  walk.blocks.push_back(name);
}

void on_close(Walk& walk) {
  if (walk.blocks.empty()) return;
  walk.blocks.pop_back();
  if (walk.blocks.size() == 1 && walk.blocks[0] == "http") walk.in_server = false;
}

void on_server_statement(const std::vector<const Token*>& statement, Walk& walk) {
  NginxServer& server = walk.servers.back();
  const std::string& directive = statement[0]->text;
  if (directive == "listen" && statement.size() >= 2) {
    const std::string socket = listen_socket(statement[1]->text);
    server.listens.push_back(socket);
    for (std::size_t i = 2; i < statement.size(); ++i) {
      if (statement[i]->text == "default_server" || statement[i]->text == "default")
        server.default_listens.push_back(socket);
    }
  } else if (directive == "ssl_session_ticket_key") {
    server.ticket_keys = true;
  }
}

Status scan(const fs::path& file, int depth, Walk& walk);

Status include(const std::string& pattern, const std::string& where, int depth, Walk& walk) {
  fs::path p = pattern;
  if (p.is_relative()) p = walk.base / p;
  glob_t g{};
  const int rc = ::glob(p.c_str(), 0, nullptr, &g);
  if (rc == GLOB_NOMATCH) {
    ::globfree(&g);
    // nginx refuses a missing literal file but accepts a glob matching nothing.
    if (pattern.find_first_of("*?[") != std::string::npos) return {};
    return make_error(Errc::not_found, where + ": included file " + p.string() + " does not exist");
  }
  if (rc != 0) {
    ::globfree(&g);
    return make_error(Errc::io, where + ": cannot expand include " + p.string());
  }
  Status status;
  for (std::size_t i = 0; i < g.gl_pathc && status.ok(); ++i) {
    if (walk.in_server) walk.servers.back().includes.push_back(g.gl_pathv[i]);
    status = scan(g.gl_pathv[i], depth + 1, walk);
  }
  ::globfree(&g);
  return status;
}

Status scan(const fs::path& file, int depth, Walk& walk) {
  if (depth > kMaxIncludeDepth) {
    return make_error(Errc::invalid_argument, file.string() + ": includes nest deeper than " +
                                                  std::to_string(kMaxIncludeDepth) + " levels");
  }
  if (++walk.files > kMaxFiles) {
    return make_error(Errc::invalid_argument,
                      "more than " + std::to_string(kMaxFiles) + " configuration files included");
  }
  auto bytes = read_file(file);
  if (!bytes.ok()) return bytes.error();
  const std::string name = file.string();
  const std::string_view text(reinterpret_cast<const char*>(bytes->data()), bytes->size());
  STEK_ASSIGN_OR_RETURN(std::vector<Token> tokens, tokenize(text, name));
  std::vector<const Token*> statement;
  for (const Token& t : tokens) {
    if (t.kind == Token::word) {
      statement.push_back(&t);
      continue;
    }
    if (t.kind == Token::open) {
      const int line = statement.empty() ? t.line : statement[0]->line;
      on_open(statement, name + ":" + std::to_string(line), walk);
    }
    if (t.kind == Token::close) on_close(walk);
    if (t.kind == Token::semicolon && !statement.empty()) {
      const std::string& directive = statement[0]->text;
      const std::string where = name + ":" + std::to_string(statement[0]->line);
      if (walk.in_server) on_server_statement(statement, walk);
      if (directive == "ssl_session_timeout") {
        if (statement.size() != 2) {
          return make_error(Errc::bad_format, where + ": ssl_session_timeout takes one value");
        }
        auto seconds = parse_nginx_time(statement[1]->text);
        if (!seconds.ok()) return seconds.error().with_context(where);
        walk.found.push_back({*seconds, where});
      } else if (directive == "include" && statement.size() == 2) {
        STEK_TRY(include(statement[1]->text, where, depth, walk));
      }
    }
    statement.clear();  // a block's opening brace or closing brace also ends a statement
  }
  return {};
}

}  // namespace

Result<std::vector<SessionTimeout>> find_session_timeouts(const fs::path& conf) {
  Walk walk;
  walk.base = conf.parent_path();
  STEK_TRY(scan(conf, 0, walk));
  return std::move(walk.found);
}

Result<std::vector<NginxServer>> find_http_servers(const fs::path& conf) {
  Walk walk;
  walk.base = conf.parent_path();
  STEK_TRY(scan(conf, 0, walk));
  for (NginxServer& server : walk.servers) {
    if (server.listens.empty()) server.listens.push_back("*:80");  // nginx's default
  }
  return std::move(walk.servers);
}

}  // namespace stek::agent
