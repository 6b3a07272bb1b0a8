// The routing map through HAProxy's runtime API.
#include "haproxy_route.h"

#include <set>
#include <sstream>

#include "../haproxy_cli.h"

namespace stek::agent {

namespace {

// Map keys and server names go into command lines: only what HAProxy reads as one word.
bool is_word(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c <= ' ' || c == 0x7f || c == '\\' || c == '"' || c == '\'') return false;
  }
  return true;
}

// add/set/del map answer nothing (or a blank line) on success; anything else is a refusal.
Status check_quiet_answer(std::string_view command, std::string_view answer) {
  for (char c : answer) {
    if (c != '\n' && c != '\r' && c != ' ') {
      const auto end = answer.find('\n');
      return make_error(Errc::io, "haproxy refused \"" + std::string(command) +
                                      "\": " + std::string(answer.substr(0, end)));
    }
  }
  return {};
}

}  // namespace

Result<std::map<std::string, std::string>> parse_show_map(std::string_view answer) {
  std::map<std::string, std::string> entries;
  std::istringstream in{std::string(answer)};
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    std::istringstream words(line);
    std::string ref, key, value, extra;
    if (!(words >> ref >> key >> value) || (words >> extra) || !ref.starts_with("0x")) {
      return make_error(Errc::invalid_argument,
                        "show map: unexpected answer line \"" + line.substr(0, 80) + "\"");
    }
    entries[key] = value;
  }
  return entries;
}

HaproxyRouteSink::HaproxyRouteSink(HaproxyRouteSinkOptions options)
    : options_(std::move(options)),
      name_("haproxy_route:" + options_.map + ":" + options_.server) {}

Result<SinkReport> HaproxyRouteSink::apply(const KeyRing* ring, Epoch) {
  if (!is_word(options_.map) || !is_word(options_.server)) {
    return make_error(Errc::invalid_argument,
                      name_ + ": map and server must be single words without quotes");
  }
  const HaproxyCli cli(options_.socket, options_.timeout);
  // Every key the server may open a ticket with: a ticket of any of them comes back here.
  std::set<std::string> wanted;
  if (ring != nullptr) {
    for (const auto& k : ring->keys()) wanted.insert(k.key.name_hex());
  }
  STEK_ASSIGN_OR_RETURN(SecretString shown, cli.command("show map " + options_.map));
  STEK_ASSIGN_OR_RETURN(auto entries, parse_show_map({shown.data(), shown.size()}));
  SinkReport report;
  const auto run = [&](const std::string& command) -> Status {
    STEK_ASSIGN_OR_RETURN(SecretString answer, cli.command(command));
    return check_quiet_answer(command, {answer.data(), answer.size()});
  };
  for (const auto& name : wanted) {
    auto it = entries.find(name);
    if (it != entries.end() && it->second == options_.server) continue;
    const char* verb = it == entries.end() ? "add map " : "set map ";
    STEK_TRY(run(verb + options_.map + " " + name + " " + options_.server));
    ++report.files_written;
  }
  for (const auto& [key, value] : entries) {
    if (value != options_.server || wanted.count(key) != 0) continue;
    STEK_TRY(run("del map " + options_.map + " " + key));
    ++report.files_erased;
  }
  return report;
}

}  // namespace stek::agent
