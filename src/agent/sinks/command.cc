// The generic (command) sink.
#include "command.h"

#include <optional>

#include "stek/file.h"

#include "../reload.h"
#include "own_file.h"

namespace stek::agent {

Result<SecretBytes> command_sink_bytes(Format format, const KeyRing& input, UnixSeconds now) {
  // A 48-byte format gets the 48-byte projection of stekd's 80-byte keys, as every 48-byte
  // sink does: the same key names, so logs and stek-scan speak of one key.
  std::optional<KeyRing> projected;
  if (format_key_size(format) == KeySize::k48 && input.encrypting().key.size() == KeySize::k80) {
    STEK_ASSIGN_OR_RETURN(projected, project_ring_to_48(input));
  }
  const KeyRing& ring = projected ? *projected : input;
  const bool one_key =
      format == Format::apache || format == Format::nginx48 || format == Format::nginx80;
  if (!one_key) return write_key_file(format, ring, {.now = now});
  RingKey only = ring.encrypting().clone();
  only.meta.role = KeyRole::encrypt;
  std::vector<RingKey> keys;
  keys.push_back(std::move(only));
  STEK_ASSIGN_OR_RETURN(KeyRing single, KeyRing::make(std::move(keys), ring.info()));
  return write_key_file(format, single, {.now = now});
}

CommandSink::CommandSink(CommandSinkOptions options, const Clock& clock, Random& random)
    : options_(std::move(options)),
      name_("command:" + options_.path.string()),
      clock_(clock),
      backoff_(options_.retry, random) {}

Result<SinkReport> CommandSink::apply(const KeyRing* ring, Epoch) {
  SinkReport report;
  STEK_TRY(check_own_file(options_.path));
  if (ring != nullptr) {
    // Roles as of the ring; generated_at (json) is the ring's, so an unchanged ring writes
    // an unchanged file.
    const UnixSeconds made = ring->info().generated_at.value_or(0);
    STEK_ASSIGN_OR_RETURN(SecretBytes bytes, command_sink_bytes(options_.format, *ring, made));
    STEK_ASSIGN_OR_RETURN(bool wrote, write_file_if_changed(options_.path, bytes.view(), 0600));
    if (wrote) ++report.files_written;
    run_pending_ = run_pending_ || wrote;
  } else {
    STEK_ASSIGN_OR_RETURN(bool erased, erase_if_present(options_.path));
    if (erased) {
      ++report.files_erased;
      run_pending_ = true;
    }
  }
  if (!run_pending_ || options_.command.empty()) {
    run_pending_ = false;
    return report;
  }
  const std::int64_t now_ms = clock_.now_ms();
  if (next_run_ms_ && now_ms < *next_run_ms_) {
    return make_error(Errc::io, "command failed " + std::to_string(failures_) + " time(s) (" +
                                    last_error_ + "); the file holds the keys; next run in " +
                                    std::to_string((*next_run_ms_ - now_ms + 999) / 1000) + " s");
  }
  if (auto ran = run_command(options_.command, options_.timeout); !ran.ok()) {
    ++failures_;
    last_error_ = ran.error().message;
    next_run_ms_ = now_ms + backoff_.delay(failures_).count();
    return make_error(Errc::io, "command failed " + std::to_string(failures_) + " time(s): " +
                                    last_error_ + "; the file holds the keys; retrying in " +
                                    std::to_string((*next_run_ms_ - now_ms + 999) / 1000) + " s");
  }
  failures_ = 0;
  next_run_ms_.reset();
  run_pending_ = false;
  report.reloaded = true;
  return report;
}

}  // namespace stek::agent
