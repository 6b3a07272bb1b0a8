// Sinks write and erase only files of their own: never through a symbolic link or a hard
// link, whose other names would then see keys or zeros, and never a file of another user.
#pragma once

#include <filesystem>

#include "stek/result.h"

namespace stek::agent {

// OK when `path` does not exist or is a regular file owned by this process's user with one
// link. Otherwise Errc::forbidden naming what is wrong and what to do; nothing is touched.
Status check_own_file(const std::filesystem::path& path);

// Erases `path` (overwritten first, see erase_file) if it exists; true when it did.
Result<bool> erase_if_present(const std::filesystem::path& path);

}  // namespace stek::agent
