// The json ring file sink.
#include "json.h"

#include "stek/file.h"
#include "stek/formats.h"

#include "own_file.h"

namespace stek::agent {

JsonSink::JsonSink(std::filesystem::path path)
    : path_(std::move(path)), name_("json:" + path_.string()) {}

Result<SinkReport> JsonSink::apply(const KeyRing* ring, Epoch) {
  SinkReport report;
  if (ring == nullptr) {
    STEK_ASSIGN_OR_RETURN(bool erased, erase_if_present(path_));
    report.files_erased = erased ? 1 : 0;
    return report;
  }
  STEK_TRY(check_own_file(path_));
  STEK_ASSIGN_OR_RETURN(SecretBytes bytes, write_key_file(Format::json, *ring));
  STEK_ASSIGN_OR_RETURN(bool wrote, write_file_if_changed(path_, bytes.view(), 0600));
  report.files_written = wrote ? 1 : 0;
  return report;
}

}  // namespace stek::agent
