// Tells the service manager that a program is serving (systemd's Type=notify: READY=1 once the
// listeners are bound or the keys are held) or stopping. Without $NOTIFY_SOCKET (not started by
// systemd) or without libsystemd at build time, each call does nothing.
#pragma once

#include <string>

namespace stek::service {

// READY=1 with a one-line STATUS= for `systemctl status`. Returns whether a manager was told.
bool notify_ready(const std::string& status);

// STOPPING=1: the program has begun an orderly stop.
void notify_stopping();

}  // namespace stek::service
