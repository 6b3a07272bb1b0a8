// The Apache httpd sink.
#include "apache.h"

#include "stek/file.h"
#include "stek/formats.h"

#include "own_file.h"

namespace stek::agent {

ApacheSink::ApacheSink(ApacheSinkOptions options)
    : options_(std::move(options)),
      name_("apache:" + options_.key_file.string()),
      reload_(std::move(options_.reloader)) {}

Result<SecretBytes> ApacheSink::key_file_bytes(const KeyRing& ring) {
  STEK_ASSIGN_OR_RETURN(TicketKey projected, project_to_48(ring.encrypting().key));
  std::vector<RingKey> one;
  one.push_back({std::move(projected), ring.encrypting().meta});
  STEK_ASSIGN_OR_RETURN(KeyRing single, KeyRing::make(std::move(one)));
  return write_key_file(Format::apache, single);
}

Result<SinkReport> ApacheSink::apply(const KeyRing* ring, Epoch) {
  SinkReport report;
  STEK_TRY(check_own_file(options_.key_file));
  if (ring == nullptr) {
    STEK_ASSIGN_OR_RETURN(bool erased, erase_if_present(options_.key_file));
    report.files_erased = erased ? 1 : 0;
    return make_error(Errc::not_found,
                      options_.key_file.string() +
                          ": no stek key covers the current epoch; the expired key is erased and "
                          "Apache is not restarted (it would refuse the missing file) until the "
                          "agent has keys again");
  }
  STEK_ASSIGN_OR_RETURN(SecretBytes bytes, key_file_bytes(*ring));
  STEK_ASSIGN_OR_RETURN(bool wrote, write_file_if_changed(options_.key_file, bytes.view(), 0600));
  if (wrote) report.files_written = 1;
  auto restarted = reload_.settle(wrote);
  if (!restarted.ok()) return restarted.error().with_context("graceful restart");
  report.reloaded = *restarted;
  return report;
}

std::vector<std::string> ApacheSink::check(const Schedule& schedule) const {
  const std::string interval = std::to_string(schedule.interval());
  return {
      "Apache holds one ticket key and no decrypt-only history: every rotation (each " + interval +
          " s) ends resumption of all tickets issued before it, whatever stek's history; set "
          "SSLSessionCacheTimeout to at most " +
          interval + " so clients are not promised longer (docs/sinks-48.md)",
      "Apache 2.4 with OpenSSL 3 (Debian 12) MACs its tickets with an all-zero HMAC key "
      "whatever the key file holds (measured, docs/sinks-48.md): its tickets are protected by the "
      "16-byte AES key alone and anyone can compute their MAC",
  };
}

}  // namespace stek::agent
