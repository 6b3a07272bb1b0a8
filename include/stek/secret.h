// SecretBytes: owned key material. Move-only, wiped with OPENSSL_cleanse when destroyed,
// compared in constant time, and deliberately not printable or formattable. Its bytes live
// in the locked, never-dumped secret heap once a program set one up (stek/hardening.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <memory>
#include <span>
#include <string>

namespace stek {

using ByteView = std::span<const std::uint8_t>;

class SecretBytes {
 public:
  SecretBytes() = default;
  // n zero bytes.
  explicit SecretBytes(std::size_t n);
  static SecretBytes copy_of(ByteView bytes);

  SecretBytes(SecretBytes&& other) noexcept;
  SecretBytes& operator=(SecretBytes&& other) noexcept;
  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;
  ~SecretBytes();

  // An explicit copy: copies of key material should be visible in the code.
  SecretBytes clone() const { return copy_of(view()); }

  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  const std::uint8_t* data() const { return data_; }
  std::uint8_t* data() { return data_; }
  ByteView view() const { return {data_, size_}; }
  std::span<std::uint8_t> mutable_view() { return {data_, size_}; }
  // A sub-range [offset, offset+n); n must fit.
  ByteView view(std::size_t offset, std::size_t n) const { return view().subspan(offset, n); }

  // Constant-time equality (CRYPTO_memcmp); sizes are not secret.
  bool equals(ByteView other) const;

  // Overwrites the bytes with zeros and releases them.
  void wipe();

 private:
  std::uint8_t* data_ = nullptr;  // from secure_alloc
  std::size_t size_ = 0;
};

// Printing key material by accident must not compile.
std::ostream& operator<<(std::ostream&, const SecretBytes&) = delete;

// Wipes a buffer the caller owns (OPENSSL_cleanse: not optimised away).
void secure_wipe(void* p, std::size_t n);

// Constant-time comparison of equal-length buffers; false if lengths differ.
bool constant_time_equal(ByteView a, ByteView b);

// Memory for secrets: from OpenSSL's secure heap (mlock'ed, MADV_DONTDUMP) when the program
// set one up with lock_secret_memory() (stek/hardening.h) and it has room, else from the
// ordinary heap. secure_alloc zeroes and throws std::bad_alloc; secure_free wipes first.
void* secure_alloc(std::size_t n);
void secure_free(void* p, std::size_t n) noexcept;

// An allocator that wipes memory before releasing it, taken from the secret heap. Used for
// containers that briefly hold secrets in text form (JSON strings with base64 key bytes).
template <class T>
struct WipingAllocator {
  using value_type = T;
  WipingAllocator() = default;
  template <class U>
  WipingAllocator(const WipingAllocator<U>&) noexcept {}  // NOLINT
  T* allocate(std::size_t n) { return static_cast<T*>(secure_alloc(n * sizeof(T))); }
  void deallocate(T* p, std::size_t n) noexcept { secure_free(p, n * sizeof(T)); }
  template <class U>
  bool operator==(const WipingAllocator<U>&) const noexcept {
    return true;
  }
};

// Text that holds secrets (hex or base64 key bytes): every buffer it ever used is wiped.
using SecretString = std::basic_string<char, std::char_traits<char>, WipingAllocator<char>>;

}  // namespace stek
