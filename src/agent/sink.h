// Sink: one way of handing keys to a TLS server (files plus a reload, a runtime API, ...).
#pragma once

#include <string>
#include <vector>

#include "stek/ring.h"

namespace stek::agent {

// What one apply() did, for logs and metrics.
struct SinkReport {
  int files_written = 0;
  int files_erased = 0;
  bool reloaded = false;
};

class Sink {
 public:
  virtual ~Sink() = default;
  // A short name for logs and metric labels, e.g. "nginx:/run/stek/nginx".
  virtual const std::string& name() const = 0;
  // Makes the server use `ring` (roles as of `epoch`), or no stek key at all when ring is
  // null (no held key covers the current epoch). Idempotent: writes and reloads only what
  // changed, so calling it again with the same input does nothing.
  virtual Result<SinkReport> apply(const KeyRing* ring, Epoch epoch) = 0;
  // The next apply() must make the server take the keys (for nginx: reload) even if the
  // files already hold them: nobody confirmed that the server read them.
  virtual void force_next() {}
  // Problems in the server's own configuration under this schedule, as warnings.
  virtual std::vector<std::string> check(const Schedule&) const { return {}; }
};

}  // namespace stek::agent
