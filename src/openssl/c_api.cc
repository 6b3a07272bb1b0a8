// The C API (stek/stek.h) over the C++ one.
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include "stek/openssl.h"
#include "stek/stek.h"

struct stek_key_status {
  stek::openssl::KeyStatus status;
  std::string json;
};

struct stek_keys {
  std::shared_ptr<stek::openssl::TicketKeys> keys;
  std::unique_ptr<stek::openssl::RingFileWatcher> watcher;
};

namespace {

void copy_out(const std::string& text, char* out, std::size_t len) {
  if (out == nullptr || len == 0) return;
  const std::size_t n = std::min(text.size(), len - 1);
  std::memcpy(out, text.data(), n);
  out[n] = '\0';
}

int fail(const stek::Error& e, char* err, std::size_t err_len) {
  copy_out(e.message, err, err_len);
  return 0;
}

}  // namespace

extern "C" {

stek_keys* stek_keys_watch_file(const char* path, char* err, size_t err_len) {
  if (path == nullptr) {
    fail(stek::make_error(stek::Errc::invalid_argument, "no ring file path"), err, err_len);
    return nullptr;
  }
  try {
    auto handle = std::make_unique<stek_keys>();
    handle->keys = std::make_shared<stek::openssl::TicketKeys>();
    auto watcher = stek::openssl::RingFileWatcher::open(path, handle->keys);
    if (!watcher.ok()) {
      fail(watcher.error(), err, err_len);
      return nullptr;
    }
    handle->watcher = std::move(watcher).value();
    if (auto s = handle->watcher->start(); !s.ok()) {
      fail(s.error(), err, err_len);
      return nullptr;
    }
    return handle.release();
  } catch (const std::bad_alloc&) {
    fail(stek::make_error(stek::Errc::io, "out of memory"), err, err_len);
    return nullptr;
  }
}

void stek_keys_free(stek_keys* keys) {
  delete keys;
}

int stek_install(SSL_CTX* ctx, stek_keys* keys, int early_data, char* err, size_t err_len) {
  if (keys == nullptr)
    return fail(stek::make_error(stek::Errc::invalid_argument, "no keys"), err, err_len);
  stek::openssl::InstallOptions options;
  switch (early_data) {
    case STEK_EARLY_DATA_OFF:
      options.early_data = stek::openssl::EarlyData::off;
      break;
    case STEK_EARLY_DATA_SINGLE_USE:
      options.early_data = stek::openssl::EarlyData::single_use;
      break;
    case STEK_EARLY_DATA_REPLAYABLE:
      options.early_data = stek::openssl::EarlyData::replayable;
      break;
    default:
      return fail(
          stek::make_error(stek::Errc::invalid_argument,
                           "early_data must be STEK_EARLY_DATA_OFF, _SINGLE_USE or _REPLAYABLE"),
          err, err_len);
  }
  auto s = stek::openssl::install(ctx, keys->keys, options);
  return s.ok() ? 1 : fail(s.error(), err, err_len);
}

int stek_enable_stateful_tickets(SSL_CTX* ctx, size_t cache_size, long timeout_seconds, char* err,
                                 size_t err_len) {
  return stek_enable_stateful_tickets_with_prefix(ctx, cache_size, timeout_seconds, nullptr, err,
                                                  err_len);
}

int stek_enable_stateful_tickets_with_prefix(SSL_CTX* ctx, size_t cache_size, long timeout_seconds,
                                             const unsigned char* server_prefix, char* err,
                                             size_t err_len) {
  stek::openssl::StatefulOptions options;
  options.cache_size = cache_size;
  options.timeout = std::chrono::seconds(timeout_seconds);
  if (server_prefix != nullptr) {
    stek::KeyName prefix{};
    std::memcpy(prefix.data(), server_prefix, prefix.size());
    options.server_prefix = prefix;
  }
  auto s = stek::openssl::enable_stateful_tickets(ctx, options);
  return s.ok() ? 1 : fail(s.error(), err, err_len);
}

stek_key_status* stek_key_status_get(const stek_keys* keys) {
  if (keys == nullptr) return nullptr;
  try {
    auto out = std::make_unique<stek_key_status>();
    out->status = keys->keys->status();
    out->json = stek::openssl::key_status_json(out->status);
    return out.release();
  } catch (const std::bad_alloc&) {
    return nullptr;
  }
}

void stek_key_status_free(stek_key_status* status) {
  delete status;
}

int stek_key_status_has_keys(const stek_key_status* st) {
  return st != nullptr && st->status.has_keys ? 1 : 0;
}

const char* stek_key_status_current_key(const stek_key_status* st) {
  return st != nullptr ? st->status.current_key.c_str() : "";
}

int stek_key_status_runway_seconds(const stek_key_status* st, int64_t* seconds) {
  if (st == nullptr || !st->status.runway_seconds) return 0;
  if (seconds != nullptr) *seconds = *st->status.runway_seconds;
  return 1;
}

uint64_t stek_key_status_ring_version(const stek_key_status* st) {
  return st != nullptr ? st->status.ring_version : 0;
}

size_t stek_key_status_keys_decrypting(const stek_key_status* st) {
  return st != nullptr ? st->status.keys_decrypting : 0;
}

int stek_key_status_source_present(const stek_key_status* st) {
  return st != nullptr && st->status.source_present ? 1 : 0;
}

const char* stek_key_status_last_error(const stek_key_status* st) {
  return st != nullptr ? st->status.last_error.c_str() : "";
}

uint64_t stek_key_status_counter(const stek_key_status* st, const char* name) {
  if (st == nullptr || name == nullptr) return 0;
  const stek::openssl::TicketCounters& c = st->status.counters;
  const std::string_view n(name);
  if (n == "issued") return c.issued;
  if (n == "not_issued") return c.not_issued;
  if (n == "resumed") return c.resumed;
  if (n == "renewed") return c.renewed;
  if (n == "unknown_key") return c.unknown_key;
  if (n == "invalid") return c.invalid;
  if (n == "refused_psk_ke") return c.refused_psk_ke;
  return 0;
}

const char* stek_key_status_json(const stek_key_status* st) {
  return st != nullptr ? st->json.c_str() : "{}";
}

int stek_keys_status(const stek_keys* keys, stek_status* out) {
  if (keys == nullptr || out == nullptr) return 0;
  const stek::openssl::KeyStatus s = keys->keys->status();
  *out = stek_status{};
  out->has_keys = s.has_keys ? 1 : 0;
  copy_out(s.current_key, out->current_key, sizeof out->current_key);
  out->has_runway = s.runway_seconds ? 1 : 0;
  out->runway_seconds = s.runway_seconds.value_or(0);
  out->ring_version = s.ring_version;
  out->keys_decrypting = s.keys_decrypting;
  out->source_present = s.source_present ? 1 : 0;
  copy_out(s.last_error, out->last_error, sizeof out->last_error);
  out->issued = s.counters.issued;
  out->resumed = s.counters.resumed;
  out->renewed = s.counters.renewed;
  out->unknown_key = s.counters.unknown_key;
  out->invalid = s.counters.invalid;
  return 1;
}

}  // extern "C"
