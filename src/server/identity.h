// Who a client certificate says it is. The codec and its rule live in api/identity.h, shared
// with stek-agent and stekctl pki; stekd applies it to every verified peer certificate.
#pragma once

#include "api/identity.h"

namespace stek::server {

using Identity = api::Identity;
using api::identity_from_certificate;
using api::identity_from_uris;

}  // namespace stek::server
