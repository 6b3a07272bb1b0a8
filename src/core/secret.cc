// SecretBytes storage and wiping.
#include "stek/secret.h"

#include <cstring>

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

SecretBytes::SecretBytes(std::size_t n)
    : data_(n ? std::make_unique<std::uint8_t[]>(n) : nullptr), size_(n) {}

SecretBytes SecretBytes::copy_of(ByteView bytes) {
  SecretBytes s(bytes.size());
  if (!bytes.empty()) std::memcpy(s.data(), bytes.data(), bytes.size());
  return s;
}

SecretBytes::SecretBytes(SecretBytes&& other) noexcept
    : data_(std::move(other.data_)), size_(other.size_) {
  other.size_ = 0;
}

SecretBytes& SecretBytes::operator=(SecretBytes&& other) noexcept {
  if (this != &other) {
    wipe();
    data_ = std::move(other.data_);
    size_ = other.size_;
    other.size_ = 0;
  }
  return *this;
}

SecretBytes::~SecretBytes() {
  wipe();
}

void SecretBytes::wipe() {
  secure_wipe(data_.get(), size_);
  data_.reset();
  size_ = 0;
}

bool SecretBytes::equals(ByteView other) const {
  return constant_time_equal(view(), other);
}

}  // namespace stek
