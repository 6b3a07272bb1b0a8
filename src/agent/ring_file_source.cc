// Reading the ring file.
#include "ring_file_source.h"

#include <spdlog/spdlog.h>

#include "stek/file.h"
#include "stek/formats.h"

namespace stek::agent {

RingFileSource::RingFileSource(std::filesystem::path path, std::string domain, const Clock& clock)
    : path_(std::move(path)), domain_(std::move(domain)), clock_(clock) {}

RingUpdate RingFileSource::next(const std::optional<HeldRing>& held) {
  RingUpdate update;
  update.pause = kPoll;
  auto report = [&](const std::string& message) {
    if (message != last_error_) spdlog::error("ring file {}: {}", path_.string(), message);
    last_error_ = message;
    return std::move(update);
  };
  auto bytes = read_file(path_);
  if (!bytes.ok()) return report(bytes.error().message);
  auto ring = read_key_file(Format::json, bytes->view());
  if (!ring.ok()) return report(ring.error().message);
  if (held && ring->info().version <= held->version()) return update;  // nothing newer
  // A ring file may be one a sink wrote, without keys that expired: its identity is as stated.
  auto accepted = HeldRing::accept(*ring, domain_, clock_.now(), StatedId::trusted);
  if (!accepted.ok()) return report(accepted.error().message);
  last_error_.clear();
  update.sync = RingUpdate::Sync::answered;
  update.ring = std::move(accepted).value();
  update.from = "ring file " + path_.string();
  return update;
}

std::string RingFileSource::describe() const {
  return "source: ring file " + path_.string() + " (offline)\n";
}

}  // namespace stek::agent
