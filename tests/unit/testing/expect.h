// Test helpers: checks on Result errors.
#pragma once

#include <string>

#include <gtest/gtest.h>

#include "stek/result.h"

namespace stek::testing {

// The result failed with exactly this code and message.
template <class T>
void expect_error(const Result<T>& r, Errc code, const std::string& message) {
  ASSERT_FALSE(r.ok()) << "expected error: " << message;
  EXPECT_EQ(errc_name(r.error().code), std::string(errc_name(code))) << r.error().message;
  EXPECT_EQ(r.error().message, message);
}

// The result failed with this code and a message containing `part`.
template <class T>
void expect_error_containing(const Result<T>& r, Errc code, const std::string& part) {
  ASSERT_FALSE(r.ok()) << "expected error containing: " << part;
  EXPECT_EQ(errc_name(r.error().code), std::string(errc_name(code))) << r.error().message;
  EXPECT_NE(r.error().message.find(part), std::string::npos) << r.error().message;
}

}  // namespace stek::testing
