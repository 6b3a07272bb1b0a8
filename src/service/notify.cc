// sd_notify through libsystemd when it was found at build time (STEK_HAVE_LIBSYSTEMD).
#include "notify.h"

#ifdef STEK_HAVE_LIBSYSTEMD
#include <systemd/sd-daemon.h>
#endif

namespace stek::service {

bool notify_ready(const std::string& status) {
#ifdef STEK_HAVE_LIBSYSTEMD
  const std::string message = "READY=1\nSTATUS=" + status;
  return ::sd_notify(0, message.c_str()) > 0;
#else
  (void)status;
  return false;
#endif
}

void notify_stopping() {
#ifdef STEK_HAVE_LIBSYSTEMD
  (void)::sd_notify(0, "STOPPING=1");
#endif
}

}  // namespace stek::service
