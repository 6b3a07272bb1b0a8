// stekd --dev: what a throw-away development key server needs, made in a fresh directory (a
// development PKI, a KEK, stekd's configuration with a one-minute interval), then the agent's
// and nginx's configurations once the port is known, and the banner that says how to attach them.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "stek/result.h"

namespace stek::dev {

struct DevSetup {
  std::filesystem::path dir;     // everything below is in here
  std::filesystem::path config;  // stekd's configuration
  std::uint16_t nginx_port = 8444;
};

// Makes `dir` (empty: a new directory on /dev/shm, else the temporary directory) with the PKI
// (host web1 of domain "dev", admin "admin"), the KEK and stekd.toml listening on 127.0.0.1:port
// (0: any free port) with metrics on any free port.
Result<DevSetup> make_dev_setup(const std::filesystem::path& dir, std::uint16_t port);

// Writes agent.toml and nginx.conf for the server now listening on `port`; returns the banner:
// loud about development, with the exact commands to attach stek-agent, nginx and stekctl.
Result<std::string> attach_instructions(const DevSetup& setup, std::uint16_t port,
                                        std::uint16_t metrics_port);

}  // namespace stek::dev
