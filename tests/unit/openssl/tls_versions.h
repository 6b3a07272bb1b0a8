// Names for tests parameterised by TLS version (TLS1_2_VERSION, TLS1_3_VERSION).
#pragma once

#include <string>

#include <gtest/gtest.h>
#include <openssl/ssl.h>

namespace stek::openssl::test {

inline std::string tls_version_name(const ::testing::TestParamInfo<int>& info) {
  return info.param == TLS1_3_VERSION ? "TLS13" : "TLS12";
}

}  // namespace stek::openssl::test
