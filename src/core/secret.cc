// SecretBytes storage and wiping.
#include "stek/secret.h"

#include <cstring>
#include <new>

#include <openssl/crypto.h>

namespace stek {

void secure_wipe(void* p, std::size_t n) {
  if (p != nullptr && n != 0) OPENSSL_cleanse(p, n);
}

bool constant_time_equal(ByteView a, ByteView b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

void* secure_alloc(std::size_t n) {
  if (n == 0) n = 1;
  // The secure heap returns nullptr when full; secrets then use the ordinary heap.
  // OPENSSL_secure_clear_free tells the two apart.
  void* p = OPENSSL_secure_zalloc(n);
  if (p == nullptr) p = OPENSSL_zalloc(n);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}

void secure_free(void* p, std::size_t n) noexcept {
  if (p == nullptr) return;
  OPENSSL_secure_clear_free(p, n == 0 ? 1 : n);
}

SecretBytes::SecretBytes(std::size_t n)
    : data_(n ? static_cast<std::uint8_t*>(secure_alloc(n)) : nullptr), size_(n) {}

SecretBytes SecretBytes::copy_of(ByteView bytes) {
  SecretBytes s(bytes.size());
  if (!bytes.empty()) std::memcpy(s.data(), bytes.data(), bytes.size());
  return s;
}

SecretBytes::SecretBytes(SecretBytes&& other) noexcept : data_(other.data_), size_(other.size_) {
  other.data_ = nullptr;
  other.size_ = 0;
}

SecretBytes& SecretBytes::operator=(SecretBytes&& other) noexcept {
  if (this != &other) {
    wipe();
    data_ = other.data_;
    size_ = other.size_;
    other.data_ = nullptr;
    other.size_ = 0;
  }
  return *this;
}

SecretBytes::~SecretBytes() {
  wipe();
}

void SecretBytes::wipe() {
  secure_free(data_, size_);  // wipes before it frees
  data_ = nullptr;
  size_ = 0;
}

bool SecretBytes::equals(ByteView other) const {
  return constant_time_equal(view(), other);
}

}  // namespace stek
