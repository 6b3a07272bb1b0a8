// Generic sink, for any server stek has no sink of its own for: the ring in any stekctl format
// written to one file (0600, atomically), then a command run after each change (no shell, with
// a timeout). A failed command is reported, retried with backoff, and never costs the file:
// the file keeps the new keys and the command runs again until it succeeds.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "stek/clock.h"
#include "stek/formats.h"

#include "../backoff.h"
#include "../sink.h"

namespace stek::agent {

struct CommandSinkOptions {
  Format format = Format::json;
  std::filesystem::path path;        // the key file, mode 0600 (tmpfs)
  std::vector<std::string> command;  // argv run after a change; empty: none
  std::chrono::milliseconds timeout{30000};
  BackoffPolicy retry{std::chrono::milliseconds(5000), std::chrono::milliseconds(300000), 0.2};
};

// The ring as `format` can express it: one-key formats (apache, nginx) get the encrypting key
// alone, others every key a server may use (pending keys never).
Result<SecretBytes> command_sink_bytes(Format format, const KeyRing& ring, UnixSeconds now);

class CommandSink final : public Sink {
 public:
  CommandSink(CommandSinkOptions options, const Clock& clock, Random& random);

  const std::string& name() const override { return name_; }
  // Writes the file when it changed (no ring: erases it) and runs the command after a change,
  // after a failed run once its backoff delay has passed, or when forced.
  Result<SinkReport> apply(const KeyRing* ring, Epoch epoch) override;
  void force_next() override { run_pending_ = true; }

  int failures() const { return failures_; }

 private:
  CommandSinkOptions options_;
  std::string name_;
  const Clock& clock_;
  Backoff backoff_;
  bool run_pending_ = false;
  int failures_ = 0;                         // consecutive failed runs
  std::optional<std::int64_t> next_run_ms_;  // no run before this (clock ms) after a failure
  std::string last_error_;
};

}  // namespace stek::agent
