// Rings from a ring file (--ring-file): for offline use and tests. The file holds the
// configured domain's ring, as stekd would send it; it is re-read every second and a newer
// version replaces the held ring.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>

#include "stek/clock.h"

#include "ring_source.h"

namespace stek::agent {

class RingFileSource final : public RingSource {
 public:
  static constexpr std::chrono::seconds kPoll{1};

  RingFileSource(std::filesystem::path path, std::string domain, const Clock& clock);

  // Reads the file once; an unreadable or refused file is logged (once per distinct error)
  // and changes nothing. Asks to be called again after kPoll.
  RingUpdate next(const std::optional<HeldRing>& held) override;
  void cancel() override {}
  std::string describe() const override;

 private:
  std::filesystem::path path_;
  std::string domain_;
  const Clock& clock_;
  std::string last_error_;
};

}  // namespace stek::agent
