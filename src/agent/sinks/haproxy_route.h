// HAProxy routing sink: keeps HAProxy's map "ticket key name (hex) -> backend server" current
// for this host, so contrib/haproxy/stek_route.lua sends a resuming client back to the server
// that holds its key (docs/routing.md). Each agent owns the map entries that name its server:
// at every apply it adds the names of its ring's keys and deletes its entries the ring no longer
// holds, through the runtime API (`show map`, `add map`, `set map`, `del map`): no reload.
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>

#include "../sink.h"

namespace stek::agent {

struct HaproxyRouteSinkOptions {
  std::filesystem::path socket;             // stats socket at level admin
  std::string map;                          // the map file as haproxy.cfg names it
  std::string server;                       // this host's server name in the backend
  std::chrono::milliseconds timeout{5000};  // per runtime API command
};

// Parses `show map` ("<ref> <key> <value>" per line) into key -> value. Errc::invalid_argument
// on a line of another shape (HAProxy's refusal, e.g. "Unknown map identifier").
Result<std::map<std::string, std::string>> parse_show_map(std::string_view answer);

class HaproxyRouteSink final : public Sink {
 public:
  explicit HaproxyRouteSink(HaproxyRouteSinkOptions options);

  const std::string& name() const override { return name_; }
  // files_written counts entries added or changed, files_erased entries deleted.
  Result<SinkReport> apply(const KeyRing* ring, Epoch epoch) override;

 private:
  HaproxyRouteSinkOptions options_;
  std::string name_;
};

}  // namespace stek::agent
