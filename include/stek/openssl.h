// libstek for OpenSSL servers: stek's key rings inside the process. One header for all of it;
// each part also has its own:
//   stek/openssl/ticket_keys.h   TicketKeys: the ring as a snapshot, rotated by the clock, status
//   stek/openssl/install.h       install() on an SSL_CTX, nginx's session id context, STEK-less
//   stek/openssl/ring_watcher.h  RingFileWatcher: stek-agent's JSON ring file, watched
//   stek/openssl/ticket_codec.h  TicketCodec: seal and open tickets outside a handshake
// A how-to is in docs/libstek.md; examples/https_server.cc uses every part.
#pragma once

#include "stek/openssl/install.h"
#include "stek/openssl/ring_watcher.h"
#include "stek/openssl/ticket_codec.h"
#include "stek/openssl/ticket_keys.h"
