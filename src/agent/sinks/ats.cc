// The Traffic Server sink.
#include "ats.h"

#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <sys/stat.h>

#include "stek/file.h"
#include "stek/formats.h"

#include "own_file.h"

namespace stek::agent {

namespace {

// Traffic Server re-reads the file at a reload only when its mtime is later than the second
// it last loaded it (SSLTicketParams::LoadTicket compares whole seconds), so a file written
// in the second of the last load would be skipped. One second ahead is always later.
Status move_mtime_ahead(const std::filesystem::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return make_error(Errc::io, path.string() + ": stat: " + std::strerror(errno));
  }
  const struct timespec times[2] = {st.st_atim, {st.st_mtim.tv_sec + 1, 0}};
  if (::utimensat(AT_FDCWD, path.c_str(), times, 0) != 0) {
    return make_error(Errc::io, path.string() + ": setting mtime: " + std::strerror(errno));
  }
  return {};
}

}  // namespace

AtsSink::AtsSink(AtsSinkOptions options)
    : options_(std::move(options)),
      name_("ats:" + options_.key_file.string()),
      reload_(std::move(options_.reloader)) {}

Result<SecretBytes> AtsSink::key_file_bytes(const KeyRing& ring) {
  STEK_ASSIGN_OR_RETURN(KeyRing projected, project_ring_to_48(ring));
  // The ring's canonical order (encrypting, next, decrypt-only newest first) is the file's:
  // Traffic Server encrypts with the first record and decrypts with any.
  return write_key_file(Format::ats, projected);
}

Result<SinkReport> AtsSink::apply(const KeyRing* ring, Epoch) {
  SinkReport report;
  STEK_TRY(check_own_file(options_.key_file));
  if (ring == nullptr) {
    STEK_ASSIGN_OR_RETURN(bool erased, erase_if_present(options_.key_file));
    report.files_erased = erased ? 1 : 0;
    return report;
  }
  STEK_ASSIGN_OR_RETURN(SecretBytes bytes, key_file_bytes(*ring));
  STEK_ASSIGN_OR_RETURN(bool wrote, write_file_if_changed(options_.key_file, bytes.view(), 0600));
  if (wrote) {
    report.files_written = 1;
    STEK_TRY(move_mtime_ahead(options_.key_file));
  }
  auto reloaded = reload_.settle(wrote);
  if (!reloaded.ok()) return reloaded.error().with_context("traffic server reload");
  report.reloaded = *reloaded;
  return report;
}

}  // namespace stek::agent
