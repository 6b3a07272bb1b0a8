// Reply helpers of the handler seam.
#include "http_handler.h"

namespace stek::server {

HttpResponse json_response(unsigned status, const nlohmann::json& body) {
  HttpResponse r;
  r.status = status;
  // Replace, not throw, on bytes that are not UTF-8: messages may quote a decoded query key.
  r.text = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  return r;
}

HttpResponse error_response(unsigned status, const std::string& message) {
  return json_response(status, {{"error", message}});
}

}  // namespace stek::server
