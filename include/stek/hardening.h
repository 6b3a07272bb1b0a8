// Process hardening for programs that hold keys (stekd, stek-agent, stekctl): no core dumps,
// secrets in locked memory that is left out of any dump, and private directories.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

#include "stek/result.h"

namespace stek {

struct HardeningOptions {
  // Debugging only: leave core dumps as the system has them. Secrets in the locked heap stay
  // out of a core either way (MADV_DONTDUMP); copies elsewhere do not.
  bool allow_core_dumps = false;
  // Size of the locked heap for secrets (a power of two); allocations beyond it use the
  // ordinary heap.
  std::size_t locked_heap_bytes = std::size_t{1} << 20;
};

struct HardeningReport {
  bool core_dumps_disabled = false;  // PR_SET_DUMPABLE 0 and RLIMIT_CORE 0 both took effect
  bool secrets_locked = false;       // the secret heap is mlock'ed
  bool secrets_kept_out_of_dumps = false;
  // One line each, for the caller to log as warnings: what is not protected and what to do.
  std::vector<std::string> warnings;
};

// The environment variable that also allows core dumps ("1"), for programs without a flag.
inline constexpr const char* kAllowCoreDumpsEnv = "STEK_ALLOW_CORE_DUMPS";
bool core_dumps_allowed_by_env();

// Call first thing in main(), before any secret is read: disables core dumps (unless allowed)
// and sets up the locked secret heap (secure_alloc in stek/secret.h). Never fails the
// program: what could not be done is in the report's warnings. Once per process.
HardeningReport harden_process(const HardeningOptions& options);

// Creates `dir` and any missing parents with mode 0700 whatever the umask; an existing `dir`
// is left as it is.
Status create_private_directories(const std::filesystem::path& dir);

}  // namespace stek
