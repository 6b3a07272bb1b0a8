// No core dumps, a locked secret heap, private directories.
#include "stek/hardening.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include <openssl/crypto.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>

namespace stek {

namespace fs = std::filesystem;

bool core_dumps_allowed_by_env() {
  const char* v = std::getenv(kAllowCoreDumpsEnv);
  return v != nullptr && std::string_view(v) == "1";
}

namespace {

std::string kib(rlim_t bytes) {
  return bytes == RLIM_INFINITY ? "unlimited" : std::to_string(bytes / 1024) + " KiB";
}

bool disable_core_dumps(std::vector<std::string>& warnings) {
  bool ok = true;
  rlimit none{0, 0};
  if (::setrlimit(RLIMIT_CORE, &none) != 0) {
    warnings.push_back(std::string("cannot set RLIMIT_CORE to 0: ") + std::strerror(errno));
    ok = false;
  }
  // Also covers a core_pattern that pipes to a helper (which ignores RLIMIT_CORE), and
  // keeps other processes of the same user from reading this one's memory via ptrace.
  if (::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
    warnings.push_back(std::string("cannot clear the dumpable flag: ") + std::strerror(errno));
    ok = false;
  }
  return ok;
}

// The locked heap must fit RLIMIT_MEMLOCK: raise the soft limit to the hard one if needed.
void make_room_to_lock(std::size_t bytes) {
  rlimit lim{};
  if (::getrlimit(RLIMIT_MEMLOCK, &lim) != 0 || lim.rlim_cur == RLIM_INFINITY ||
      lim.rlim_cur >= bytes * 2)
    return;
  lim.rlim_cur = lim.rlim_max;
  (void)::setrlimit(RLIMIT_MEMLOCK, &lim);
}

}  // namespace

HardeningReport harden_process(const HardeningOptions& options) {
  HardeningReport r;
  if (options.allow_core_dumps) {
    r.warnings.push_back(
        "core dumps are allowed (debugging): a core may hold key material outside the locked "
        "secret heap; never run like this in production");
  } else {
    r.core_dumps_disabled = disable_core_dumps(r.warnings);
  }
  make_room_to_lock(options.locked_heap_bytes);
  // 32 bytes: the smallest secret (an epoch or domain secret, a KEK).
  const int init = CRYPTO_secure_malloc_init(options.locked_heap_bytes, 32);
  if (init == 0 && CRYPTO_secure_malloc_initialized() == 0) {
    r.warnings.push_back(
        "cannot set up the locked secret heap; secrets use the ordinary heap "
        "and may reach swap and core dumps");
    return r;
  }
  r.secrets_kept_out_of_dumps = true;
  r.secrets_locked = init == 1;
  if (init == 2) {
    rlimit lim{};
    ::getrlimit(RLIMIT_MEMLOCK, &lim);
    r.warnings.push_back("cannot lock the " + std::to_string(options.locked_heap_bytes / 1024) +
                         " KiB secret heap in memory (RLIMIT_MEMLOCK is " + kib(lim.rlim_cur) +
                         "): secrets may reach swap. Raise the limit (systemd: LimitMEMLOCK=, "
                         "shell: ulimit -l) to at least " +
                         std::to_string(2 * options.locked_heap_bytes / 1024) + " KiB");
  }
  return r;
}

Status create_private_directories(const fs::path& dir) {
  fs::path built;
  for (const fs::path& part : dir.lexically_normal()) {
    built /= part;
    if (part.empty() || part == built.root_path()) continue;
    if (::mkdir(built.c_str(), 0700) == 0) {
      // The umask may have narrowed the mode, never widened it; set it exactly anyway.
      if (::chmod(built.c_str(), 0700) != 0) {
        return make_error(Errc::io,
                          built.string() + ": cannot set mode 0700: " + std::strerror(errno));
      }
    } else if (errno != EEXIST) {
      return make_error(Errc::io, built.string() + ": cannot create: " + std::strerror(errno));
    }
  }
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return make_error(Errc::io, dir.string() + ": not a directory");
  return {};
}

}  // namespace stek
