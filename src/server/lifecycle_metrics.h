// stekd's /metrics families about its keys' lifecycle, beside the status snapshot's
// (status_render.h): health exactly as /healthz answers it, the configured interval, and when
// the oldest epoch secret held is due for erasure, as timestamps that alert rules compare with
// time() (contrib/observability/stek-alerts.yml).
#pragma once

#include <optional>
#include <string>

#include "stek/schedule.h"

#include "key_service.h"

namespace stek::server {

struct LifecycleFigures {
  bool healthy = false;                  // /healthz answers 200
  std::int64_t interval = 0;             // the configured schedule's, seconds
  std::optional<UnixSeconds> erase_due;  // none while no secret is held
};

// The oldest held epoch secret is erased at the start of the first epoch in which it decrypts
// nothing: H + 1 epochs after its own, under the schedule served (during a change of schedule,
// the wider one, which keeps the old schedule's keys longer).
LifecycleFigures lifecycle_figures(const KeyService& keys, bool healthy);

std::string render_lifecycle_metrics(const LifecycleFigures& f);

}  // namespace stek::server
