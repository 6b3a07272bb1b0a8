// Result<T>: a value or a named, human-readable error. Every boundary that reads untrusted
// input (files, tickets, requests) returns one instead of throwing.
#pragma once

#include <string>
#include <type_traits>
#include <utility>
#include <variant>

namespace stek {

enum class Errc {
  invalid_argument,  // a caller passed something out of range
  bad_format,        // input does not follow the expected syntax
  bad_size,          // input has the wrong length
  weak_key,          // all-zero or repeated-byte key material
  duplicate_key,     // two keys share a name or key material
  unsupported,       // the target cannot express what was asked
  not_found,
  io,
  crypto,     // an OpenSSL primitive failed
  integrity,  // authentication failed (wrong key, damaged data)
  forbidden,  // the caller's identity may not do this (HTTP 403)
  conflict,   // a compare-and-swap kept losing to concurrent writers
  exhausted,  // a per-identity or process limit is reached (HTTP 429)
  rollback,   // stored state is older than state already seen (restored backup)
  config,     // a configuration file or setting is wrong
};

const char* errc_name(Errc code);

struct Error {
  Errc code;
  std::string message;

  // Returns a copy whose message is prefixed with context, e.g. the file name.
  Error with_context(const std::string& context) const { return {code, context + ": " + message}; }
};

inline Error make_error(Errc code, std::string message) {
  return Error{code, std::move(message)};
}

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }

  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT

  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { return error_; }

 private:
  Error error_{Errc::invalid_argument, {}};
  bool ok_ = true;
};

using Status = Result<void>;

}  // namespace stek

// Propagates an error from an expression returning Result<...>.
#define STEK_TRY(expr)                                                            \
  do {                                                                            \
    if (auto stek_try_r_ = (expr); !stek_try_r_.ok()) return stek_try_r_.error(); \
  } while (0)

#define STEK_CONCAT_INNER_(a, b) a##b
#define STEK_CONCAT_(a, b) STEK_CONCAT_INNER_(a, b)
// Declares `lhs` from the value of a Result, or returns its error.
#define STEK_ASSIGN_OR_RETURN(lhs, expr) \
  STEK_ASSIGN_OR_RETURN_IMPL_(STEK_CONCAT_(stek_r_, __LINE__), lhs, expr)
#define STEK_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                \
  if (!tmp.ok()) return tmp.error();                \
  lhs = std::move(tmp).value()
