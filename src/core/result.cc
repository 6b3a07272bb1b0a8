// Names of error codes, for messages and JSON output.
#include "stek/result.h"

namespace stek {

const char* errc_name(Errc code) {
  switch (code) {
    case Errc::invalid_argument:
      return "invalid_argument";
    case Errc::bad_format:
      return "bad_format";
    case Errc::bad_size:
      return "bad_size";
    case Errc::weak_key:
      return "weak_key";
    case Errc::duplicate_key:
      return "duplicate_key";
    case Errc::unsupported:
      return "unsupported";
    case Errc::not_found:
      return "not_found";
    case Errc::io:
      return "io";
    case Errc::crypto:
      return "crypto";
    case Errc::integrity:
      return "integrity";
    case Errc::forbidden:
      return "forbidden";
    case Errc::conflict:
      return "conflict";
    case Errc::exhausted:
      return "exhausted";
    case Errc::rollback:
      return "rollback";
    case Errc::config:
      return "config";
  }
  return "unknown";
}

}  // namespace stek
