# Fuzz target for libstek's ticket-open path (the bytes a client sends in a ticket).
stek_fuzz_target(ticket_open SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/openssl/ticket_open_fuzz.cc
  LIBS stek_openssl)
