// stekctl's offline subcommands as functions, so tests drive them without a process.
// Each returns the process exit code: 0 ok, 1 failed, 2 bad usage.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>

#include "stek/clock.h"
#include "stek/formats.h"
#include "stek/random.h"

namespace stek::ctl {

struct Env {
  std::ostream& out;
  std::ostream& err;
  Random& random;
  const Clock& clock;
};

// Prints "stekctl: <message>" on env.err; returns the exit code for a failed command (1).
int fail(Env& env, const Error& e);

struct KeygenArgs {
  Format format = Format::nginx80;
  std::string out;          // path, or "-" for stdout
  int count = 0;            // 0: the format's natural count
  int size = 80;            // 48 or 80 for json and h2o
  ScheduleParams schedule;  // for json and h2o metadata
  bool force = false;
};
int keygen(const KeygenArgs& args, Env& env);

struct InspectArgs {
  std::string path;
  std::optional<Format> format;
  bool reveal = false;
  bool json = false;
};
int inspect(const InspectArgs& args, Env& env);

struct ConvertArgs {
  Format from = Format::json;
  Format to = Format::json;
  std::string in;
  std::string out;
  bool only_encrypting = false;
  // Write 80-byte keys to a 48-byte format as their 48-byte projection (project_to_48);
  // without it such a conversion is refused.
  bool project_48 = false;
  bool force = false;
};
int convert(const ConvertArgs& args, Env& env);

struct DeriveArgs {
  std::string epoch_secret_hex;
  std::string domain_secret_hex;
  std::string domain;
  Epoch epoch = 0;
  Format format = Format::json;
  std::string out;
  ScheduleParams schedule;
  bool force = false;
};
int derive(const DeriveArgs& args, Env& env);

struct DemoArgs {
  ScheduleParams schedule;
  std::vector<std::string> domains{"eu-west", "us-east"};
};
// The embedded default: random in-memory secrets, the rings of two domains now and after
// the next rotation. No files, no network.
int demo(const DemoArgs& args, Env& env);

}  // namespace stek::ctl
