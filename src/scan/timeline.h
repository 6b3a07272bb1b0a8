// An endpoint's timeline for long watches: its fresh connections, in order, with each run of
// identical observations (same status, same key name) collapsed to one entry. A day at one
// probe a minute under a key that rotates hourly is 24 entries, not 1440.
#pragma once

#include <string>

#include "analysis.h"
#include "observation.h"

namespace stek::scan {

// Entries: `from`, `to` (UTC, first and last connection of the run), `status`, `key_name`
// (hex, null when none was seen or the name is hidden), `probes`.
Json timeline_json(const ScanData& data, const std::string& endpoint);

}  // namespace stek::scan
