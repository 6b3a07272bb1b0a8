// stekd's status, rendered: an HTML page for people (every string escaped: domain and host
// names come from configuration and client certificates) and Prometheus text for /metrics.
#pragma once

#include <string>
#include <string_view>

#include "mtls_transport.h"
#include "server_status.h"

namespace stek::server {

// The HTML page (status_page.cc): read-only, key names at most, never key bytes. Call
// add_key_labels on `s` first for the key names in the timeline.
std::string render_status_page(const ServerStatus& s);
// Prometheus text for /metrics; `transport` adds connection and request counts. stek_healthy
// follows `s.health_failing`, which KeyServer fills in from /healthz's answer.
std::string render_server_metrics(const ServerStatus& s, const TransportStats& transport);

}  // namespace stek::server
